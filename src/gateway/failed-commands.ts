/**
 * Commands the queue gave up on, and the way back for them. A queued command whose processing
 * keeps throwing (an infrastructure error: a rejection is an answer, stored as a result) is set
 * aside after COMMAND_MAX_FAILURES failures: it ends with a PROCESSED result `succeeded: false`,
 * code COMMAND_FAILED, so its waiters get an answer and its aggregate's next command goes on;
 * its row stays (status FAILED, with its last error), never purged, so nothing accepted is lost.
 * After a fix an operator re-queues it (`stageline failed-commands retry`): its failures are
 * reset, its give-up answer taken back, and whichever worker looks first processes it.
 */
import { CoreCode } from "../core/errors.ts";
import { failed, gatewayFunction, type NewResult, newResult } from "../core/results.ts";
import type { CommandResult } from "../core/stages.ts";
import { FailedCommandNotFound } from "../ops/errors.ts";
import { type CommandQueue, type FailedCommand, GIVE_UP_PROCESSOR } from "../store/command-queue.ts";
import type { StoredCommand } from "../store/command-store.ts";
import type { ResultStore } from "../store/result-store.ts";
import type { SqlClient } from "../store/sql.ts";

export type { FailedCommand };

/** The give-up answer. Its message says what happened, not the error (that is the operator's, in the row). */
export const giveUpResult = (command: StoredCommand, failures: number): NewResult =>
  newResult(command, {
    stage: "PROCESSED",
    scope: "STAGE",
    function: gatewayFunction("give up", GIVE_UP_PROCESSOR),
    outcome: failed(
      CoreCode.COMMAND_FAILED,
      `Processing the command failed ${failures} times (not a refusal: an error of the system); it is kept for an operator to retry`,
    ),
  });

/**
 * Sets the command aside if it has failed `maxFailures` times, with its give-up answer, in one
 * transaction. Returns the answer stored (to publish), or undefined when it was not set aside.
 */
export async function setAside(
  deps: { sql: SqlClient; queue: CommandQueue; results: ResultStore },
  commandId: string,
  maxFailures: number,
): Promise<{ failed: FailedCommand; results: CommandResult[] } | undefined> {
  return deps.sql.transaction(async (tx) => {
    const aside = await deps.queue.setAside(tx, commandId, maxFailures);
    if (!aside) return undefined;
    return { failed: aside, results: await deps.results.insert([giveUpResult(aside.command, aside.failures)], tx) };
  });
}

/** Puts a command set aside back in the queue (failures reset); throws when there is none of that ID. */
export async function retryFailedCommand(
  deps: { sql: SqlClient; queue: CommandQueue },
  commandId: string,
): Promise<StoredCommand> {
  const requeued = isCommandId(commandId)
    ? await deps.sql.transaction((tx) => deps.queue.requeue(tx, commandId))
    : undefined;
  if (!requeued)
    throw new FailedCommandNotFound(`No command ${commandId} is set aside (see stageline failed-commands list)`);
  return requeued;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether the text can be a command ID (a UUID): anything else names no command. */
export const isCommandId = (text: string): boolean => UUID.test(text);
