import { isAfter, LOG_START, type LogCheckpoint } from "../../core/messages.ts";
import type { Registry } from "../../core/registry.ts";
import type { CheckpointStore } from "../../store/checkpoint-store.ts";
import type { OpsQueries } from "../../store/ops-queries.ts";
import { OpsCode, ReplayRefused, UnknownProcessor } from "../errors.ts";

export interface ReplayPlan {
  processor: string;
  kind: string;
  /** Where the checkpoint stands now, and where it moves (reading resumes after `to`). */
  from: { transactionId: string; position: string };
  to: { transactionId: string; position: string };
  /** The first event read again (0: the log's start). */
  replayFrom: string;
  applied: boolean;
}

const show = (c: LogCheckpoint) => ({ transactionId: String(c.transactionId), position: String(c.position) });

export async function replayProcessor(
  deps: { queries: OpsQueries; checkpoints: CheckpointStore; registry: Registry },
  processor: string,
  position: bigint,
  confirmed: boolean,
): Promise<ReplayPlan> {
  const registered = deps.registry.processors.find((p) => p.id === processor);
  if (!registered) throw new UnknownProcessor(`No processor ${processor} (see stageline status)`);
  const kind = registered.processor.kind;
  if (kind === "PROJECTION") {
    throw new ReplayRefused(
      OpsCode.REPLAY_PROJECTION,
      `${processor} is a projection: replaying would apply events twice; run \`stageline rebuild ${processor}\` instead`,
    );
  }
  let target: LogCheckpoint = LOG_START;
  if (position > 0n) {
    const event = await deps.queries.eventAt(position);
    if (!event) throw new ReplayRefused(OpsCode.POSITION_NOT_FOUND, `No event at position ${position} in the log`);
    // Just before the event in reading order (transaction, position): it is the first read again.
    target = { transactionId: event.transactionId, position: position - 1n };
  }
  const current = await deps.checkpoints.load(processor);
  if (isAfter(target, current)) {
    throw new ReplayRefused(
      OpsCode.REPLAY_FORWARD,
      `${processor} has not read position ${position} yet (its checkpoint is at position ${current.position}): replay only moves a checkpoint back`,
    );
  }
  const plan = { processor, kind, from: show(current), to: show(target), replayFrom: String(position), applied: false };
  if (!confirmed) {
    throw new ReplayRefused(
      OpsCode.CONFIRMATION_REQUIRED,
      `Would move ${processor} (${kind.toLowerCase()}) from position ${current.position} back to read again from position ${position}${kind === "EVENT_HANDLER" ? " (its side effects run again)" : ""}. Run again with --yes to do it.`,
    );
  }
  await deps.checkpoints.rewind(processor, target);
  return { ...plan, applied: true };
}
