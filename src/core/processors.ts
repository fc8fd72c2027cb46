/**
 * The four kinds of processor that runners drive over the event log. Each names the event
 * types it subscribes to; a command's runner stage waits only for the processors interested in
 * its events.
 */
import type { AggregateDefinition } from "./aggregate.ts";
import type { DomainEvent, RecordedEvent } from "./messages.ts";
import type { ProcessorKind } from "./stages.ts";

interface ProcessorBase<Kind extends ProcessorKind> {
  kind: Kind;
  /** Unique within its context; with the context name it keys the processor's checkpoint. */
  name: string;
  /** Event types (of any aggregate) this processor reads. */
  eventTypes: readonly string[];
  /**
   * Where the processor starts the first time it runs (recorded with its checkpoint; later runs
   * resume from the checkpoint): the log's beginning, or its head at that moment. Default: now
   * for sagas and event handlers (a saga added to a database with history must not react to last
   * month's events), the beginning for projections (a read model holds all of history).
   */
  from?: StartFrom;
}

/** A processor's first start position: see `ProcessorBase.from`. */
export type StartFrom = "beginning" | "now";

/**
 * Writes read models. `apply` runs inside the runner's transaction for the batch, with the
 * checkpoint stored in the same transaction: read models change exactly once per event.
 */
export interface Projection<Tx = unknown> extends ProcessorBase<"PROJECTION"> {
  apply(events: readonly RecordedEvent[], tx: Tx): Promise<void>;
  /**
   * The tables (their SQL names, e.g. `account_views`) this projection alone writes. Declaring
   * them makes the projection rebuildable without downtime: the engine fills shadow copies from
   * the log and swaps them in (src/runners/rebuild.ts). `apply` must then touch no other table.
   */
  tables?: readonly string[];
}

/**
 * Side effects (notify, publish). At-least-once: after a crash an event may be handled again,
 * so `handle` must be idempotent, e.g. keyed by `event.position`.
 */
export interface EventHandler extends ProcessorBase<"EVENT_HANDLER"> {
  handle(event: RecordedEvent): Promise<void>;
}

/**
 * A command a saga asks for. Its requestId is derived from (saga, event, key) in a namespace no
 * client can reach, so a replay never sends twice and no client can take it first.
 *
 * A reaction's commands are sent in order, each awaited until PROCESSED (accepted or refused)
 * before the next is sent; after a refusal the rest are not sent. Reactions to different events
 * run concurrently, in log order per aggregate (README "Sagas").
 */
export interface SagaCommand {
  contextName?: string;
  aggregateName: string;
  aggregateId: string;
  type: string;
  data: Record<string, unknown>;
  /** Distinguishes several commands issued for one event; part of the derived requestId. */
  key?: string;
  /**
   * Compensation: when this command is refused, the commands returned are sent instead (as a
   * reaction of their own: in order, stopping at a refusal). Replays are safe: every request ID
   * is derived from the event.
   */
  onRejected?: (rejection: SagaRejection) => readonly SagaCommand[];
  /**
   * Follow-up: when this command is accepted, the commands returned are sent next, as a reaction
   * of their own (in order, stopping at a refusal), before the rest of this reaction. Called
   * again on a replay, so it must decide from its argument (and the event) alone.
   */
  onAccepted?: (acceptance: SagaAcceptance) => readonly SagaCommand[];
}

/** A saga command the gateway took, with the ID it was given. */
export interface SentSagaCommand {
  command: SagaCommand;
  commandId: string;
}

/** What `onRejected` learns: how far the reaction got when one of its commands was refused. */
export interface SagaRejection {
  /** The refused command's error code (a domain code, e.g. ACCOUNT_FROZEN) and message. */
  errorCode: string;
  errorMsg: string;
  /** The refused command. */
  refused: SentSagaCommand;
  /** The commands of the same reaction sent before it, all accepted, in order. */
  accepted: readonly SentSagaCommand[];
  /** The commands of the same reaction after it: never sent. */
  notSent: readonly SagaCommand[];
}

/** What `onAccepted` learns: the accepted command and what the reaction had accepted before it. */
export interface SagaAcceptance {
  /** The accepted command, its ID, and the version it left its aggregate at. */
  accepted: SentSagaCommand & { aggregateVersion: number | null };
  /** The commands of the same reaction accepted before it, in order. */
  before: readonly SentSagaCommand[];
}

/**
 * A named, read-only lookup in the read models, declared by a domain with `defineReadModel`.
 * The engine hands `read` its database client, read-only (src/store/read-only-prisma.ts).
 */
export interface ReadModelQuery<Args, Row> {
  name: string;
  // `never`: any client type the domain declares fits; the engine decides what it passes.
  read(db: never, tenantId: string, args: Args): Promise<Row>;
}

export function defineReadModel<Db, Args, Row>(query: {
  name: string;
  read: (db: Db, tenantId: string, args: Args) => Promise<Row>;
}): ReadModelQuery<Args, Row> {
  return query as ReadModelQuery<Args, Row>;
}

/**
 * What a saga may look at while it reacts, all read-only and scoped to the event's tenant:
 * committed state, as of the moment of the read (an earlier event's reaction in the same batch
 * may still be running; README "Sagas").
 */
export interface SagaContext {
  tenantId: string;
  /** A read model lookup (`defineReadModel`), in the event's tenant. */
  read<Args, Row>(query: ReadModelQuery<Args, Row>, args: Args): Promise<Row>;
  /** An aggregate's current state and version (initial state and version 0 when it has no events). */
  aggregate<State>(
    // biome-ignore lint/suspicious/noExplicitAny: any aggregate; only its state type matters here.
    aggregate: AggregateDefinition<string, State, any, any>,
    aggregateId: string,
  ): Promise<{ state: State; version: number }>;
}

/**
 * Reacts to an event with commands: `react(event, context) → commands`; compensation is just
 * more commands. `context` looks things up, read-only; `react` is called again when the event is
 * replayed (what was already sent under a key stands).
 */
export interface Saga<E extends DomainEvent = DomainEvent> extends ProcessorBase<"SAGA"> {
  react(event: RecordedEvent<E>, context: SagaContext): readonly SagaCommand[] | Promise<readonly SagaCommand[]>;
}

// biome-ignore lint/suspicious/noExplicitAny: processors of any transaction or event type share one registry.
export type AnyProcessor = Projection<any> | EventHandler | Saga<any>;

export function defineProjection<Tx>(projection: Omit<Projection<Tx>, "kind">): Projection<Tx> {
  return { kind: "PROJECTION", ...projection };
}

export function defineEventHandler(handler: Omit<EventHandler, "kind">): EventHandler {
  return { kind: "EVENT_HANDLER", ...handler };
}

export function defineSaga<E extends DomainEvent>(saga: Omit<Saga<E>, "kind">): Saga<E> {
  return { kind: "SAGA", ...saga };
}
