/**
 * The four processor kinds, each as the same two-phase step the runner loop drives:
 * `prepare` runs outside any transaction (reads, side effects, sending commands); `apply` runs
 * inside the batch's transaction, together with the checkpoint.
 */
import { replay } from "../core/aggregate.ts";
import type { RecordedEvent } from "../core/messages.ts";
import type { EventHandler, Projection, Saga, SagaCommand } from "../core/processors.ts";
import type { ProcessorKind } from "../core/stages.ts";
import { type CommandGateway, lastOf } from "../gateway/gateway.ts";
import type { RegisteredProcessor, SnapshotProcessor } from "../gateway/registry.ts";
import type { Prisma } from "../generated/prisma/client.ts";
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
      return { ...base, prepare: (events) => runSaga(registered.contextName, processor, events, deps.gateway) };
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

async function runSaga(
  contextName: string,
  saga: Saga,
  events: readonly RecordedEvent[],
  gateway: CommandGateway,
): Promise<PreparedBatch> {
  const outputs: CommandOutputs = new Map();
  for (const event of events) {
    const sent: string[] = [];
    const send = async (commands: readonly SagaCommand[], prefix: string): Promise<void> => {
      for (const [index, command] of commands.entries()) {
        const key = `${prefix}${command.key ?? index}`;
        // Deterministic request ID: replaying this event returns the same command, never a second one.
        const request = {
          aggregateName: command.aggregateName,
          type: command.type,
          input: command.data,
          tenantId: event.tenantId,
          aggregateId: command.aggregateId,
          requestId: `saga:${contextName}.${saga.name}:${event.position}:${key}`,
          chain: {
            correlationId: event.correlationId,
            causationId: `event:${event.position}`,
            waitCommandId: event.correlationId,
          },
        };
        const { commandId, results } = await gateway.send(request, {
          stage: command.onRejected ? "PROCESSED" : "SENT",
        });
        sent.push(commandId);
        if (!command.onRejected) continue;
        const outcome = await lastOf(results);
        if (outcome.stage === "PROCESSED" && !outcome.succeeded) {
          await send(
            command.onRejected({ errorCode: outcome.errorCode, errorMsg: outcome.errorMsg }),
            `${key}:compensate:`,
          );
        } else if (!outcome.succeeded) {
          throw new Error(`Saga ${saga.name}: no outcome for ${command.type} ${commandId} (${outcome.errorCode})`);
        }
      }
    };
    await send(await saga.react(event), "");
    const previous = outputs.get(event.commandId)?.commandIds as string[] | undefined;
    outputs.set(event.commandId, { commandIds: [...(previous ?? []), ...sent] });
  }
  return { outputs };
}
