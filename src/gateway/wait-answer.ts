/**
 * The one answer a wait gives a mutation (or `sendAndWait`), as opposed to its stream. The
 * answer is always about the command the client sent: a chain wait's stream carries every
 * command of the causal tree, and its last result may well be a child's (another commandId,
 * another aggregate, a child's refusal). The answer takes the sent command's own result at the
 * stage the chain reached, is `succeeded: false` when any command of the chain failed, and
 * lists those failures in `chainFailures`. Pure: it reads the results the stream yielded.
 */

import { CoreCode } from "../core/errors.ts";
import { failed } from "../core/results.ts";
import type { CommandResult, WaitTarget } from "../core/stages.ts";

/** Reads the wait's stream to its end and answers about `commandId` (see `waitAnswer`). */
export async function answerOf(
  commandId: string,
  target: WaitTarget,
  results: AsyncIterable<CommandResult>,
): Promise<CommandResult> {
  const seen: CommandResult[] = [];
  for await (const result of results) seen.push(result);
  return waitAnswer(commandId, target, seen);
}

export function waitAnswer(commandId: string, target: WaitTarget, results: readonly CommandResult[]): CommandResult {
  const last = results.at(-1);
  if (!last) throw new Error("The wait ended without any result");
  // A single command's stream holds only its own results: its last one is the answer.
  if (!target.chain) return last;

  const failures = chainFailures(results);
  const chainFailed = failures.some((f) => f.commandId !== commandId);
  // The timeout result is already about the command sent (see wait.ts).
  if (last.errorCode === CoreCode.WAIT_TIMEOUT) return { ...last, chainFailures: failures };

  const own = results.filter((r) => r.commandId === commandId);
  const answer = ownAnswer(own, target) ?? last;
  const version = answer.aggregateVersion ?? own.find((r) => r.stage === "PROCESSED")?.aggregateVersion ?? null;
  if (!chainFailed) return { ...answer, aggregateVersion: version, chainFailures: failures };
  const ownFailure = failures.find((f) => f.commandId === commandId);
  const others = failures.filter((f) => f.commandId !== commandId);
  return {
    ...answer,
    // Not the stored result of that ID any more: its outcome is the chain's.
    id: `chain:${answer.id}`,
    aggregateVersion: version,
    ...(ownFailure
      ? failed(ownFailure.errorCode, ownFailure.errorMsg)
      : failed(
          CoreCode.CHAIN_FAILED,
          `${others.length} command${others.length === 1 ? "" : "s"} of the chain failed: ${others
            .map((f) => `${f.aggregateName} ${f.aggregateId} at ${f.stage} (${f.errorCode})`)
            .join(", ")}`,
        )),
    signalTime: last.signalTime,
    chainFailures: failures,
  };
}

/**
 * The sent command's result that ended its part of the wait: at the target stage (the stage
 * itself rather than one processor's signal, when both are there), else its latest (a refusal
 * at PROCESSED ends it before the target).
 */
function ownAnswer(own: readonly CommandResult[], target: WaitTarget): CommandResult | undefined {
  const atTarget = own.filter((r) => (target.stage === "ALL" ? r.stage !== "SENT" : r.stage === target.stage));
  return atTarget.findLast((r) => r.scope === "STAGE") ?? atTarget.at(-1) ?? own.at(-1);
}

/** The first failure of each command that failed, in the order they arrived. */
function chainFailures(results: readonly CommandResult[]): CommandResult[] {
  const failures = new Map<string, CommandResult>();
  for (const result of results) {
    if (result.succeeded || result.errorCode === CoreCode.WAIT_TIMEOUT || failures.has(result.commandId)) continue;
    failures.set(result.commandId, result);
  }
  return [...failures.values()];
}
