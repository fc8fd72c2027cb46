/**
 * The four processor kinds, each as the same two-phase step the runner loop drives:
 * `prepare` runs outside any transaction (reads, side effects, sending commands); `apply` runs
 * inside the batch's transaction, together with the checkpoint.
 */

import { AggregateLoader, foldFrom, usableSnapshot } from "../aggregates/loader.ts";
import { CoreCode, IdempotencyKeyReused } from "../core/errors.ts";
import { type RecordedEvent, type StreamKey, streamName } from "../core/messages.ts";
import type { EventHandler, Projection, Saga, SagaCommand, SagaContext, SentSagaCommand } from "../core/processors.ts";
import type { RegisteredProcessor, SnapshotProcessor } from "../core/registry.ts";
import { sagaCausationId, sagaRequestId } from "../core/request-ids.ts";
import type { CommandResult, ProcessorKind } from "../core/stages.ts";
import { type CommandGateway, lastOf, type SendRequest, type Sent } from "../gateway/gateway.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { traceReaction } from "../ops/tracing.ts";
import type { EventLog } from "../store/event-log.ts";
import type { ReadOnlyPrisma } from "../store/read-only-prisma.ts";
import { type Snapshot, type SnapshotStore, type SnapshotToSave, snapshotKey } from "../store/snapshot-store.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { type KeyTails, Limiter, runInKeyOrder } from "./saga-schedule.ts";

export interface BatchTransaction {
  prisma: Prisma.TransactionClient;
  sql: SqlExecutor;
}

/**
 * Per command, the `result` its processor signal carries (a saga lists the commands it sent):
 * the same thing as a CommandResult's `result`, under the same name.
 */
export type ResultsByCommand = Map<string, CommandResult["result"]>;

export interface ProcessorStep {
  id: string;
  kind: ProcessorKind;
  contextName: string;
  name: string;
  eventTypes: ReadonlySet<string>;
  prepare(events: readonly RecordedEvent[]): Promise<PreparedBatch>;
  /**
   * The runner reads and prepares the next batch while this one's preparation still runs (a
   * saga: its batch mostly waits for the commands it sent); batches still commit in order.
   */
  pipelined?: boolean;
}

export interface PreparedBatch {
  apply?(tx: BatchTransaction): Promise<void>;
  resultsByCommand?: ResultsByCommand;
}

export interface AdapterDeps {
  events: EventLog;
  snapshots: SnapshotStore;
  gateway: CommandGateway;
  /** The app's aggregate loader (absent: one on `events` and `snapshots`), for snapshots and saga lookups. */
  aggregates?: Pick<AggregateLoader, "load">;
  /** A saga's read-model lookups get this client. */
  readModels?: ReadOnlyPrisma;
  /** Reactions of one saga batch run at once (DEFAULT_SAGA_CONCURRENCY when absent). */
  sagaConcurrency?: number;
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
    case "SAGA": {
      // One per saga: its runner may run two batches at once (runner.ts), in key order across both.
      const tails: KeyTails = new Map();
      return { ...base, pipelined: true, prepare: (events) => runSaga(registered, processor, events, deps, tails) };
    }
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

const loaderOf = (deps: AdapterDeps): Pick<AggregateLoader, "load"> => deps.aggregates ?? new AggregateLoader(deps);

async function prepareSnapshots(
  processor: SnapshotProcessor,
  events: readonly RecordedEvent[],
  deps: AdapterDeps,
): Promise<PreparedBatch> {
  // Each stream's events in this batch, in log order (so in version order).
  const inBatch = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    const key = snapshotKey(event);
    const list = inBatch.get(key);
    if (list) list.push(event);
    else inBatch.set(key, [event]);
  }
  const aggregate = processor.aggregate;
  const stateVersion = aggregate.snapshotVersion ?? 1;
  const streamOf = (e: RecordedEvent): StreamKey => ({
    tenantId: e.tenantId,
    aggregateName: e.aggregateName,
    aggregateId: e.aggregateId,
  });
  // One statement for every stream's snapshot, and one for the events the batch does not hold
  // (a stream's first snapshot, or one written by an older state version): a batch of a hundred
  // streams cost two hundred sequential reads.
  const previous = await deps.snapshots.loadMany([...inBatch.values()].map((list) => streamOf(list[0]!)));
  const plans: { stream: StreamKey; usable?: Snapshot; latest: RecordedEvent; later?: RecordedEvent[] }[] = [];
  const missing: { stream: StreamKey; afterVersion: number; toVersion: number }[] = [];
  for (const [key, list] of inBatch) {
    const latest = list.at(-1)!;
    const stream = streamOf(latest);
    const usable = usableSnapshot(aggregate, previous.get(key), latest.version);
    const from = usable?.version ?? 0;
    const later = list.filter((e) => e.version > from);
    // The batch holds every event after the snapshot when their versions run on from it.
    const complete =
      later.every((e, i) => e.version === from + i + 1) && (later.at(-1)?.version ?? from) === latest.version;
    if (complete) plans.push({ stream, usable, latest, later });
    else {
      plans.push({ stream, usable, latest });
      missing.push({ stream, afterVersion: from, toVersion: latest.version });
    }
  }
  const read = new Map<string, RecordedEvent[]>();
  for (const event of await deps.events.readStreams(missing)) {
    const key = snapshotKey(event);
    const list = read.get(key);
    if (list) list.push(event);
    else read.set(key, [event]);
  }
  const toSave: SnapshotToSave[] = plans.map(({ stream, usable, latest, later }) => ({
    ...stream,
    version: latest.version,
    stateVersion,
    // The previous snapshot plus the events up to this one: the state the new snapshot holds.
    state: foldFrom(aggregate, usable, later ?? read.get(snapshotKey(stream)) ?? []).state,
    position: latest.position,
  }));
  return { apply: (tx) => deps.snapshots.save(toSave, tx.sql) };
}

async function handleEvents(handler: EventHandler, events: readonly RecordedEvent[]): Promise<PreparedBatch> {
  // At-least-once: a crash before the checkpoint commits hands these events to the handler again.
  for (const event of events) await handler.handle(event);
  return {};
}

/**
 * A saga's reactions. Each reaction's commands go in order, each awaited until PROCESSED
 * (accepted or refused) before the next is sent; after a refusal the rest are not sent, and the
 * refused command's `onRejected` learns what was accepted, refused and never sent (its
 * compensation is a reaction of its own, sent the same way); an accepted command's `onAccepted`
 * follow-ups are sent next the same way. Reactions to different events run concurrently, in log
 * order per aggregate (saga-schedule.ts), at most `sagaConcurrency` at once. The batch, and so
 * the saga's checkpoint and SAGA_HANDLED, waits for all of it. A send that throws or a wait that
 * times out fails the batch: the runner retries it, and every request ID is derived from
 * (saga, event, key), so what was already sent is found again, never sent twice.
 */
async function runSaga(
  registered: RegisteredProcessor,
  saga: Saga,
  events: readonly RecordedEvent[],
  deps: AdapterDeps,
  tails: KeyTails,
): Promise<PreparedBatch> {
  const concurrency = deps.sagaConcurrency ?? DEFAULT_SAGA_CONCURRENCY;
  const reacting = new Limiter(concurrency);
  const sending = new Limiter(concurrency);
  // Every reaction is asked for at once (bounded), and scheduled in log order as it arrives.
  const items = events.map(async (event) => {
    const commands = await reacting.run(async () => saga.react(event, sagaContext(event.tenantId, deps)));
    // Keyed by the aggregates its commands target. (Keying by the event's own aggregate too made
    // a batch's reactions one long chain under random transfers: lag no lower at 256 than at 64.)
    const keys = commands.map((c) => streamName({ ...c, tenantId: event.tenantId }));
    // The reaction's commands are sent inside the saga's span: they join the event's trace.
    return {
      keys,
      run: () => traceReaction(event, () => runReaction(registered, saga, event, commands, deps.gateway)),
    };
  });
  const reports = await runInKeyOrder(items, sending, tails);
  const resultsByCommand: ResultsByCommand = new Map();
  for (const [index, event] of events.entries()) {
    const report = reports[index]!;
    const previous = resultsByCommand.get(event.commandId) as ReactionReport | undefined;
    resultsByCommand.set(event.commandId, {
      commandIds: [...(previous?.commandIds ?? []), ...report.commandIds],
      refused: [...(previous?.refused ?? []), ...report.refused],
      notSent: [...(previous?.notSent ?? []), ...report.notSent],
    });
  }
  return { resultsByCommand };
}

/** Reactions a saga runs at once when the configuration does not say (SAGA_CONCURRENCY). */
export const DEFAULT_SAGA_CONCURRENCY = 64;

/** One event's reaction: its commands in order, with their compensations and follow-ups. */
async function runReaction(
  registered: RegisteredProcessor,
  saga: Saga,
  event: RecordedEvent,
  commands: readonly SagaCommand[],
  gateway: CommandGateway,
): Promise<ReactionReport> {
  const report: ReactionReport = { commandIds: [], refused: [], notSent: [] };
  const sendOne = async (command: SagaCommand, key: string): Promise<CommandResult> => {
    const { commandId, results } = await sendOrFind(gateway, {
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
        causationId: sagaCausationId(event.position),
      },
    });
    report.commandIds.push(commandId);
    const outcome = await lastOf(results);
    // A timed-out wait answers at the target stage too, but it is no refusal: compensating for
    // a command that may still be accepted would undo what was never done. Fail the batch.
    if (outcome.stage !== "PROCESSED" || outcome.errorCode === CoreCode.WAIT_TIMEOUT) {
      throw new Error(`Saga ${saga.name}: no outcome for ${command.type} ${commandId} (${outcome.errorCode})`);
    }
    return outcome;
  };
  const react = async (reaction: readonly SagaCommand[], prefix: string): Promise<void> => {
    const keys = reaction.map((command, index) => `${prefix}${command.key ?? index}`);
    const repeated = keys.find((key, index) => keys.indexOf(key) !== index);
    // One request ID for two commands would quietly drop the second as a duplicate.
    if (repeated) throw new Error(`Saga ${saga.name}: two commands of one reaction have the key "${repeated}"`);
    const accepted: SentSagaCommand[] = [];
    for (const [index, command] of reaction.entries()) {
      const key = keys[index]!;
      const outcome = await sendOne(command, key);
      if (outcome.succeeded) {
        const sent = { command, commandId: outcome.commandId };
        if (command.onAccepted) {
          const before = [...accepted];
          const followUps = command.onAccepted({
            accepted: { ...sent, aggregateVersion: outcome.aggregateVersion },
            before,
          });
          await react(followUps, `${key}:accepted:`);
        }
        accepted.push(sent);
        continue;
      }
      const notSent = reaction.slice(index + 1);
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
  await react(commands, "");
  return report;
}

/**
 * Sends a saga's command, or finds the one sent under its request ID before. A replayed reaction
 * that looked things up may ask for another payload under the same key: what was sent stands,
 * and its outcome is the one the reaction goes on with.
 */
async function sendOrFind(gateway: CommandGateway, request: SendRequest): Promise<Omit<Sent, "duplicate">> {
  const wait = { stage: "PROCESSED" } as const;
  try {
    return await gateway.send(request, wait);
  } catch (error) {
    if (!(error instanceof IdempotencyKeyReused)) throw error;
    const commandId = error.originalCommandId;
    return { commandId, results: await gateway.results(request.tenantId, commandId, wait) };
  }
}

/** The read-only lookups a reaction gets, in the event's tenant. */
function sagaContext(tenantId: string, deps: AdapterDeps): SagaContext {
  return {
    tenantId,
    read: (query, args) => {
      if (!deps.readModels) throw new Error(`Read model ${query.name}: no database client given to the saga runner`);
      return query.read(deps.readModels as never, tenantId, args);
    },
    aggregate: async (aggregate, aggregateId) => {
      const loaded = await loaderOf(deps).load(aggregate, { tenantId, aggregateName: aggregate.name, aggregateId });
      return { state: loaded.state as never, version: loaded.version };
    },
  };
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
