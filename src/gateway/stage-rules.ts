/**
 * Which runner stages a command reaches at once, as a pure function of the registry: a stage
 * with no interested processor, or any stage of an accepted command that produced no events,
 * follows PROCESSED immediately. A rejected command reaches no runner stage.
 */

import type { Registry } from "../core/registry.ts";
import { KIND_OF_STAGE, RUNNER_STAGES, type RunnerStage } from "../core/stages.ts";

export function stagesReachedAtOnce(registry: Registry, eventTypes: readonly string[]): RunnerStage[] {
  if (eventTypes.length === 0) return [...RUNNER_STAGES];
  return RUNNER_STAGES.filter((stage) => registry.interested(KIND_OF_STAGE[stage], eventTypes).length === 0);
}
