/**
 * The four processor kinds, each as the same two-phase step the runner loop drives:
 * `prepare` runs outside any transaction (reads, side effects, sending commands); `apply` runs
 * inside the batch's transaction, together with the checkpoint.
 */
import { replay } from "../core/aggregate.ts";
import type { RecordedEvent } from "../core/messages.ts";
import type { EventHandler, Projection, Saga, SagaCommand, SentSagaCommand } from "../core/processors.ts";
import { sagaRequestId } from "../core/request-ids.ts";
import type { CommandResult, ProcessorKind } from "../core/stages.ts";
import { type CommandGateway, lastOf } from "../gateway/gateway.ts";
import type { RegisteredProcessor, SnapshotProcessor } from "../gateway/registry.ts";
import { WAIT_TIMEOUT } from "../gateway/wait.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { traceReaction } from "../ops/tracing.ts";
import type { EventLog } from "../store/event-log.ts";
import type { SnapshotStore, SnapshotToSave } from "../store/snapshot-store.ts";
import type { SqlExecutor } from "../store/sql.ts";

export interface BatchTransaction {
  prisma: Prisma.TransactionClient;
  sql: SqlExecutor;
}

/** Per-command extra data for the processor's signal (a saga lists the commands it sent). */
export type CommandOutputs = Map<string, Record<string, unknown>>;

export interface ProcessorStep {
  id: string;
  kind: ProcessorKind;
  contextName: string;
  name: string;
  eventTypes: ReadonlySet<string>;
  prepare(events: readonly RecordedEvent[]): Promise<PreparedBatch>;
}

export interface PreparedBatch {
  apply?(tx: BatchTransaction): Promise<void>;
  outputs?: CommandOutputs;
}

export interface AdapterDeps {
  events: EventLog;
  snapshots: SnapshotStore;
  gateway: CommandGateway;
}

export function toStep(registered: RegisteredProcessor, deps: AdapterDeps): ProcessorStep {
  const { processor } = registered;
  const base = {
    id: registered.id,
    kind: processor.kind,
    contextName: registered.contextName,
    name: processor.name,
    eventTypes: new Set(processor.eventTypes),
  };
  switch (processor.kind) {
    case "SNAPSHOT":
      return { ...base, prepare: (events) => prepareSnapshots(processor, events, deps) };
    case "PROJECTION":
      return { ...base, prepare: projectionPrepare(processor) };
    case "EVENT_HANDLER":
      return { ...base, prepare: (events) => handleEvents(processor, events) };
    case "SAGA":
      return { ...base, prepare: (events) => runSaga(registered, processor, events, deps.gateway) };
  }
}

/** A projection's step: its apply runs in the batch's transaction, on that transaction's Prisma client. */
export function projectionStep(registered: RegisteredProcessor & { processor: Projection }): ProcessorStep {
  const { processor } = registered;
  return {
    id: registered.id,
    kind: processor.kind,
    contextName: registered.contextName,
    name: processor.name,
    eventTypes: new Set(processor.eventTypes),
    prepare: projectionPrepare(processor),
  };
}

const projectionPrepare =
  (projection: Projection) =>
  async (events: readonly RecordedEvent[]): Promise<PreparedBatch> => ({
    apply: (tx) => (projection as Projection<Prisma.TransactionClient>).apply(events, tx.prisma),
  });

async function prepareSnapshots(
  processor: SnapshotProcessor,
  events: readonly RecordedEvent[],
  deps: AdapterDeps,
): Promise<PreparedBatch> {
  const latest = new Map<string, RecordedEvent>();
  for (const event of events) latest.set(`${event.tenantId}/${event.aggregateName}/${event.aggregateId}`, event);
  const aggregate = processor.aggregate;
  const stateVersion = aggregate.snapshotVersion ?? 1;
  const toSave: SnapshotToSave[] = [];
  for (const event of latest.values()) {
    const stream = { tenantId: event.tenantId, aggregateName: event.aggregateName, aggregateId: event.aggregateId };
    const previous = await deps.snapshots.load(stream);
    const usable =
      previous && previous.stateVersion === stateVersion && previous.version <= event.version ? previous : undefined;
    const later = await deps.events.readStream(stream, usable?.version ?? 0, event.version);
    const state = replay(aggregate, later, usable ? usable.state : aggregate.initialState());
    toSave.push({ ...stream, version: event.version, stateVersion, state, position: event.position });
  }
  return { apply: (tx) => deps.snapshots.save(toSave, tx.sql) };
}

async function handleEvents(handler: EventHandler, events: readonly RecordedEvent[]): Promise<PreparedBatch> {
  // At-least-once: a crash before the checkpoint commits hands these events to the handler again.
  for (const event of events) await handler.handle(event);
  return {};
}

/**
 * A saga's reactions, event by event. Each reaction's commands go in order, each awaited until
 * PROCESSED (accepted or refused) before the next is sent; after a refusal the rest are not
 * sent, and the refused command's `onRejected` learns what was accepted, refused and never sent
 * (its compensation is a reaction of its own, sent the same way). The batch, and so the
 * saga's checkpoint and SAGA_HANDLED, waits for all of it. A send that throws or a wait that
 * times out fails the batch: the runner retries it, and every request ID is derived from
 * (saga, event, key), so what was already sent is found again, never sent twice.
 */
async function runSaga(
  registered: RegisteredProcessor,
  saga: Saga,
  events: readonly RecordedEvent[],
  gateway: CommandGateway,
): Promise<PreparedBatch> {
  const outputs: CommandOutputs = new Map();
  for (const event of events) {
    const report: ReactionReport = { commandIds: [], refused: [], notSent: [] };
    const sendOne = async (command: SagaCommand, key: string): Promise<CommandResult> => {
      const { commandId, results } = await gateway.send(
        {
          aggregateName: command.aggregateName,
          type: command.type,
          input: command.data,
          tenantId: event.tenantId,
          aggregateId: command.aggregateId,
          internalRequestId: sagaRequestId(registered.id, event.position, key),
          // Processed here, not queued for a worker: the saga waits for it anyway, and a worker
          // stops before the runners drain at shutdown. A crash leaves it to the orphan pickup.
          async: false,
          chain: {
            correlationId: event.correlationId,
            causationId: `event:${event.position}`,
            waitCommandId: event.correlationId,
          },
        },
        { stage: "PROCESSED" },
      );
      report.commandIds.push(commandId);
      const outcome = await lastOf(results);
      // A timed-out wait answers at the target stage too, but it is no refusal: compensating for
      // a command that may still be accepted would undo what was never done. Fail the batch.
      if (outcome.stage !== "PROCESSED" || outcome.errorCode === WAIT_TIMEOUT) {
        throw new Error(`Saga ${saga.name}: no outcome for ${command.type} ${commandId} (${outcome.errorCode})`);
      }
      return outcome;
    };
    const react = async (commands: readonly SagaCommand[], prefix: string): Promise<void> => {
      const keys = commands.map((command, index) => `${prefix}${command.key ?? index}`);
      const repeated = keys.find((key, index) => keys.indexOf(key) !== index);
      // One request ID for two commands would quietly drop the second as a duplicate.
      if (repeated) throw new Error(`Saga ${saga.name}: two commands of one reaction have the key "${repeated}"`);
      const accepted: SentSagaCommand[] = [];
      for (const [index, command] of commands.entries()) {
        const key = keys[index]!;
        const outcome = await sendOne(command, key);
        if (outcome.succeeded) {
          accepted.push({ command, commandId: outcome.commandId });
          continue;
        }
        const notSent = commands.slice(index + 1);
        report.refused.push(outcome.commandId);
        report.notSent.push(...notSent.map(describeCommand));
        if (command.onRejected) {
          const compensation = command.onRejected({
            errorCode: outcome.errorCode,
            errorMsg: outcome.errorMsg,
            refused: { command, commandId: outcome.commandId },
            accepted,
            notSent,
          });
          await react(compensation, `${key}:compensate:`);
        }
        return;
      }
    };
    await traceReaction(event, async () => react(await saga.react(event), ""));
    const previous = outputs.get(event.commandId) as ReactionReport | undefined;
    outputs.set(event.commandId, {
      commandIds: [...(previous?.commandIds ?? []), ...report.commandIds],
      refused: [...(previous?.refused ?? []), ...report.refused],
      notSent: [...(previous?.notSent ?? []), ...report.notSent],
    });
  }
  return { outputs };
}

/** What the saga's signal for a command reports: the commands it sent, those refused, and those never sent. */
interface ReactionReport extends Record<string, unknown> {
  commandIds: string[];
  refused: string[];
  notSent: { aggregateName: string; aggregateId: string; type: string; key: string | null }[];
}

const describeCommand = (command: SagaCommand) => ({
  aggregateName: command.aggregateName,
  aggregateId: command.aggregateId,
  type: command.type,
  key: command.key ?? null,
});
