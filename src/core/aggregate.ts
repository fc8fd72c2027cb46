/**
 * An aggregate is a decider: `initialState`, `decide(command, state) → events` and
 * `evolve(state, event) → state`, all pure. Its commands are declared once, each with the zod
 * schema that both validates the input and shapes the GraphQL input type.
 */
import type { z } from "zod";
import type { DomainEvent, RecordedEvent } from "./messages.ts";

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
   */
  mode?: "create" | "update";
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

export type CommandSpecs = Record<string, CommandSpec>;

/** The discriminated union of commands a `CommandSpecs` map declares. */
export type CommandOf<Specs extends CommandSpecs> = {
  [K in keyof Specs & string]: Command<K, z.output<Specs[K]["input"]>>;
}[keyof Specs & string];

/** An event as stored, before upcasting: `upcast` lifts it to the shape `evolve` knows. */
export interface StoredEventShape {
  type: string;
  schemaVersion: number;
  data: unknown;
}

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

export function defineAggregate<Name extends string, State, Specs extends CommandSpecs, Event extends DomainEvent>(
  definition: AggregateDefinition<Name, State, Specs, Event>,
): AggregateDefinition<Name, State, Specs, Event> {
  return definition;
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
