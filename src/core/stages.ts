/**
 * The stages a command travels through and the results it reports on the way.
 *
 * SENT → PROCESSED in sequence; then four parallel branches, one per runner kind, each
 * reached when every processor of that kind that cares about the command's events has passed
 * them. A runner stage is never reported before PROCESSED.
 */
import type { BindingError } from "./errors.ts";

export const STAGES = ["SENT", "PROCESSED", "SNAPSHOT", "PROJECTED", "EVENT_HANDLED", "SAGA_HANDLED"] as const;
export type Stage = (typeof STAGES)[number];

export const RUNNER_STAGES = ["SNAPSHOT", "PROJECTED", "EVENT_HANDLED", "SAGA_HANDLED"] as const;
export type RunnerStage = (typeof RUNNER_STAGES)[number];

export const isRunnerStage = (stage: Stage): stage is RunnerStage =>
  (RUNNER_STAGES as readonly Stage[]).includes(stage);

/** What produced a result: the gateway, an aggregate, or one processor of a runner kind. */
export type FunctionKind = "GATEWAY" | "AGGREGATE" | "SNAPSHOT" | "PROJECTION" | "EVENT_HANDLER" | "SAGA";

export const STAGE_OF_KIND = {
  SNAPSHOT: "SNAPSHOT",
  PROJECTION: "PROJECTED",
  EVENT_HANDLER: "EVENT_HANDLED",
  SAGA: "SAGA_HANDLED",
} as const satisfies Record<Exclude<FunctionKind, "GATEWAY" | "AGGREGATE">, RunnerStage>;

export type ProcessorKind = keyof typeof STAGE_OF_KIND;

export const KIND_OF_STAGE: Record<RunnerStage, ProcessorKind> = {
  SNAPSHOT: "SNAPSHOT",
  PROJECTED: "PROJECTION",
  EVENT_HANDLED: "EVENT_HANDLER",
  SAGA_HANDLED: "SAGA",
};

export interface FunctionInfo {
  functionKind: FunctionKind;
  contextName: string;
  processorName: string;
  name: string;
}

/**
 * STAGE: the command reached a stage (for a runner stage: every interested processor of that
 * kind passed it). PROCESSOR: one processor's own signal, for clients waiting on one processor.
 */
export type ResultScope = "STAGE" | "PROCESSOR";

export const OK = "Ok";

export interface CommandResult {
  /** Unique per result. */
  id: string;
  /** The command a client waits on: the root of a chain (its correlation ID) for saga-issued commands. */
  correlationId: string;
  stage: Stage;
  scope: ResultScope;
  contextName: string;
  aggregateName: string;
  tenantId: string;
  aggregateId: string;
  /** The aggregate's version after processing; null before PROCESSED or when nothing was decided. */
  aggregateVersion: number | null;
  requestId: string;
  commandId: string;
  function: FunctionInfo;
  /** "Ok" on success, else a stable code (a domain code, VALIDATION_FAILED, WAIT_TIMEOUT, …). */
  errorCode: string;
  errorMsg: string;
  bindingErrors: BindingError[];
  /** Extra data: a saga lists the commands it sent (`commandIds`). */
  result: Record<string, unknown>;
  signalTime: Date;
  succeeded: boolean;
  /** Log positions of the events the command produced. */
  positions: bigint[];
  /**
   * Only on the answer to a chain wait (never stored): the commands of the chain that failed,
   * one result each (the root's too, when it failed). Empty when the whole chain succeeded.
   */
  chainFailures?: CommandResult[];
}

/** What a waiter waits for: a stage, optionally of one processor; for a chain, the tail. */
export interface WaitTarget {
  /** ALL: every stage (each runner stage reached, or a failure). */
  stage: Stage | "ALL";
  /** Blank fields match any. */
  processor?: Partial<Pick<FunctionInfo, "contextName" | "processorName" | "name">>;
  /**
   * Wait for the whole causal tree: the command and every command sagas issued from it
   * (recursively) reaching `stage` (and `processor`, if named).
   */
  chain?: boolean;
}

export const matchesProcessor = (fn: FunctionInfo, filter: WaitTarget["processor"]): boolean =>
  !filter ||
  ((!filter.contextName || filter.contextName === fn.contextName) &&
    (!filter.processorName || filter.processorName === fn.processorName) &&
    (!filter.name || filter.name === fn.name));

export const hasProcessorFilter = (filter: WaitTarget["processor"]): boolean =>
  !!filter && !!(filter.contextName || filter.processorName || filter.name);
