/**
 * `stageline dead-letters list | show | retry | discard`: what a processor gave up on, and the
 * two ways out (retry and discard live in src/runners/dead-letters.ts, shared with the console).
 */

import type { OpsQueries, StoredDeadLetter } from "../../store/ops-queries.ts";
import { DeadLetterNotFound } from "../errors.ts";

// Retry and discard are shared with the console (src/runners/dead-letters.ts).
export { discardDeadLetter, retryDeadLetter } from "../../runners/dead-letters.ts";

export interface DeadLetterView {
  processor: string;
  position: string;
  eventType: string;
  attempts: number;
  error: string;
  parkedAt: string;
}

export const viewOf = (d: StoredDeadLetter): DeadLetterView => ({
  processor: d.processorId,
  position: d.position.toString(),
  eventType: d.eventType,
  attempts: d.attempts,
  error: d.error,
  parkedAt: new Date(d.createdAt).toISOString(),
});

export async function showDeadLetter(
  queries: OpsQueries,
  processor: string,
  position: bigint,
): Promise<DeadLetterView & { event: Record<string, unknown> | null }> {
  const dead = await queries.deadLetter(processor, position);
  if (!dead) throw new DeadLetterNotFound(`No dead letter of ${processor} at position ${position}`);
  const event = await queries.eventAt(position);
  return {
    ...viewOf(dead),
    event: event
      ? {
          ...event,
          position: event.position.toString(),
          transactionId: event.transactionId.toString(),
          createdAt: event.createdAt.toISOString(),
        }
      : null,
  };
}
