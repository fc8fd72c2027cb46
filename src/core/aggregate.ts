/**
 * An aggregate is a decider: `initialState`, `decide(command, state) → events` and
 * `evolve(state, event) → state`, all pure. Its commands are declared once, each with the zod
 * schema that both validates the input and shapes the GraphQL input type.
 */
import type { z } from "zod";
import { type EventOf, type EventSchemas, eventCatalog } from "./events.ts";
import type { DomainEvent, RecordedEvent, StoredEventShape } from "./messages.ts";

export type { StoredEventShape } from "./messages.ts";

/** A command as a decider sees it: its type, its validated data and where it is aimed. */
export interface Command<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  metadata: CommandMetadata;
}

export interface CommandMetadata {
  commandId: string;
  tenantId: string;
  aggregateId: string;
  /** Free-form caller data (user, trace, …). */
  header: Record<string, unknown>;
  createdAt: Date;
}

/** Lets a command find its aggregate ID when the caller gives something else (an e-mail, a number). */
export type AggregateIdResolver<Input> = (
  input: Input,
  context: { tenantId: string },
) => Promise<string | undefined> | string | undefined;

export interface CommandSpec<Input extends z.ZodObject = z.ZodObject> {
  input: Input;
  description?: string;
  /**
   * `create`: the stream must be new; an aggregate ID is generated when none is given.
   * `update` (default): the aggregate must exist, else the command is rejected with AGGREGATE_NOT_FOUND.
   * `upsert`: create or update — the aggregate may or may not exist (`decide` sees the initial
   * state when it does not); the caller must give the aggregate ID.
   */
  mode?: CommandMode;
  /** Rewriter: fills the aggregate ID from the input (e.g. a lookup by e-mail) when the caller gave none. */
  resolveAggregateId?: AggregateIdResolver<z.output<Input>>;
  /**
   * Sent only by sagas (or other server-side code), never by clients: it gets no GraphQL
   * mutation. E.g. crediting a transfer, which a client could otherwise use to mint money.
   */
  internal?: boolean;
  /**
   * Who may send it: a credential with any of these roles (or scopes) when authentication is
   * on; FORBIDDEN otherwise, before anything is stored. Absent: any credential of the tenant.
   */
  roles?: readonly string[];
}

export type CommandMode = "create" | "update" | "upsert";

export type CommandSpecs = Record<string, CommandSpec>;

/** The discriminated union of commands a `CommandSpecs` map declares. */
export type CommandOf<Specs extends CommandSpecs> = {
  [K in keyof Specs & string]: Command<K, z.output<Specs[K]["input"]>>;
}[keyof Specs & string];

export interface AggregateDefinition<
  Name extends string = string,
  State = unknown,
  Specs extends CommandSpecs = CommandSpecs,
  Event extends DomainEvent = DomainEvent,
> {
  name: Name;
  commands: Specs;
  /** Every event type the aggregate emits; processors subscribe by these names. */
  eventTypes: readonly Event["type"][];
  initialState(): State;
  // Method syntax on purpose: a registry of aggregates holds them under their common supertype.
  /** Returns the events the command causes, or throws a DomainError with a stable code. */
  decide(command: CommandOf<Specs>, state: State): Event | readonly Event[];
  evolve(state: State, event: Event): State;
  /** Lifts an event stored in an older shape to the current one (identity when absent). */
  upcast?(event: StoredEventShape): Event;
  /** Version of the state's stored shape: snapshots of another version are ignored. Default 1. */
  snapshotVersion?: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds aggregates of any state and event type.
export type AnyAggregate = AggregateDefinition<string, any, any, any>;

/** An aggregate whose events are declared as values (`events: { Name: zodSchema, … }`). */
export interface DeclaredAggregate<Name extends string, State, Specs extends CommandSpecs, C extends EventSchemas>
  extends Omit<AggregateDefinition<Name, State, Specs, EventOf<C>>, "eventTypes" | "upcast"> {
  /** Event name → the schema of its data (or `versioned(...)`): the one place an event is declared. */
  events: C;
  /**
   * Check every decided event against its schema before it is stored; a mismatch refuses the
   * command with EVENT_INVALID (a decider bug caught before it reaches the log). Default false.
   */
  validateEvents?: boolean;
}

/**
 * Declares an aggregate. With `events` (the typed form) the event union, `eventTypes`, schema
 * version stamping, optional validation and upcasting all derive from the declaration; the form
 * with `eventTypes` and a hand-written union (and `upcast`) is kept for small test aggregates.
 */
export function defineAggregate<Name extends string, State, Specs extends CommandSpecs, const C extends EventSchemas>(
  definition: DeclaredAggregate<Name, State, Specs, C>,
): AggregateDefinition<Name, State, Specs, EventOf<C>>;
export function defineAggregate<Name extends string, State, Specs extends CommandSpecs, Event extends DomainEvent>(
  definition: AggregateDefinition<Name, State, Specs, Event>,
): AggregateDefinition<Name, State, Specs, Event>;
export function defineAggregate(
  definition: DeclaredAggregate<string, unknown, CommandSpecs, EventSchemas> | AnyAggregate,
): AnyAggregate {
  if (!("events" in definition)) return definition;
  const { events, validateEvents = false, ...rest } = definition;
  const catalog = eventCatalog(events);
  return {
    ...rest,
    eventTypes: catalog.types,
    decide: (command, state) =>
      asEvents(definition.decide(command, state)).map((event) => catalog.prepare(event, validateEvents)),
    // Without history every stored event is already current: no upcast, no copy per event read.
    ...(catalog.hasHistory ? { upcast: (event: StoredEventShape) => catalog.upcast(event) } : {}),
  };
}

/** Normalises what `decide` returned to a list. */
export const asEvents = <E>(decided: E | readonly E[]): E[] =>
  Array.isArray(decided) ? [...(decided as readonly E[])] : [decided as E];

/** The part of an aggregate that rebuilds state from events. */
export type Evolver<State, Event extends DomainEvent> = Pick<
  AggregateDefinition<string, State, CommandSpecs, Event>,
  "initialState" | "evolve" | "upcast"
>;

/** Folds stored events into state, upcasting each first. */
export function replay<State, Event extends DomainEvent>(
  aggregate: Evolver<State, Event>,
  events: readonly StoredEventShape[],
  from: State = aggregate.initialState(),
): State {
  return events.reduce((state, event) => aggregate.evolve(state, upcastEvent(aggregate, event)), from);
}

export function upcastEvent<Event extends DomainEvent>(
  aggregate: Pick<AggregateDefinition<string, unknown, CommandSpecs, Event>, "upcast">,
  event: StoredEventShape,
): Event {
  return aggregate.upcast
    ? aggregate.upcast(event)
    : ({ type: event.type, data: event.data, schemaVersion: event.schemaVersion } as Event);
}

/**
 * A recorded event as processors must see it: lifted to the current shape by its aggregate's
 * upcaster (unchanged when the aggregate has none or is unknown), metadata kept.
 */
export function upcastRecorded(
  aggregate: Pick<AnyAggregate, "upcast"> | undefined,
  event: RecordedEvent,
): RecordedEvent {
  if (!aggregate?.upcast) return event;
  const lifted = aggregate.upcast(event);
  return { ...event, type: lifted.type, data: lifted.data, schemaVersion: lifted.schemaVersion ?? event.schemaVersion };
}
