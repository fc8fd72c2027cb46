/**
 * `stageline dead-letters list | show | retry | discard`: what a processor gave up on, and the
 * two ways out. Retry hands the one event to the processor again (its current code, after a
 * fix) and removes the dead letter only when that succeeded; discard removes it unprocessed.
 * A retry takes the processor's checkpoint lock, as a batch does, so it never interleaves with
 * the live runner of a server running beside it.
 */

import type { App } from "../../app.ts";
import { upcastRecorded } from "../../core/aggregate.ts";
import type { OpsQueries, StoredDeadLetter } from "../../store/ops-queries.ts";
import { prismaSqlExecutor } from "../../store/prisma-sql.ts";
import { DeadLetterNotFound, RetryFailed, UnknownProcessor } from "../errors.ts";

export interface DeadLetterView {
  processor: string;
  position: string;
  eventType: string;
  attempts: number;
  error: string;
  parkedAt: string;
}

export const viewOf = (d: StoredDeadLetter): DeadLetterView => ({
  processor: d.processorName,
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

export async function discardDeadLetter(queries: OpsQueries, processor: string, position: bigint): Promise<void> {
  if (!(await queries.discardDeadLetter(processor, position))) {
    throw new DeadLetterNotFound(`No dead letter of ${processor} at position ${position}`);
  }
}

/**
 * Runs the processor on the parked event in one transaction with the dead letter's removal.
 * A saga's or handler's prepare runs first, outside it (as in a batch), so a saga's commands
 * are sent with the same request IDs as the first time: never twice.
 */
export async function retryDeadLetter(
  app: Pick<App, "runners" | "registry" | "db">,
  queries: OpsQueries,
  processor: string,
  position: bigint,
): Promise<void> {
  const runner = app.runners.runner(processor);
  if (!runner) throw new UnknownProcessor(`No processor ${processor} (see stageline status)`);
  const dead = await queries.deadLetter(processor, position);
  if (!dead) throw new DeadLetterNotFound(`No dead letter of ${processor} at position ${position}`);
  const stored = await queries.eventAt(position);
  if (!stored) throw new DeadLetterNotFound(`The event at position ${position} is no longer in the log`);
  const event = upcastRecorded(app.registry.aggregate(stored.aggregateName)?.aggregate, stored);
  const relevant = runner.step.eventTypes.has(event.type) ? [event] : [];
  try {
    const prepared = relevant.length > 0 ? await runner.step.prepare(relevant) : {};
    await app.db.prisma.$transaction(
      async (prisma) => {
        const sql = prismaSqlExecutor(prisma);
        await app.runners.checkpoints.lock(sql, processor);
        await prepared.apply?.({ prisma, sql });
        await queries.discardDeadLetter(processor, position, sql);
      },
      { maxWait: 30_000, timeout: 60_000 },
    );
  } catch (error) {
    throw new RetryFailed(
      `${processor} failed again on position ${position}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
