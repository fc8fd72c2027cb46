/**
 * What a processor handles, named from the aggregates' own definitions: `on(Account,
 * "TransferPrepared")` is a typo-proof (aggregate, event types) pair, and the events a processor
 * then receives are narrowed to exactly those — `switch (event.type)` types `event.data` with no
 * cast. The pair, not the bare type name, is what a processor matches, so two contexts may
 * declare events of the same name.
 */
import type { AnyAggregate } from "./aggregate.ts";
import type { DomainEvent, RecordedEvent } from "./messages.ts";

/** The event union of an aggregate definition. */
export type EventOfAggregate<A> = A extends { evolve(state: never, event: infer E): unknown }
  ? E extends DomainEvent
    ? E
    : never
  : never;

/** Some of one aggregate's events. `E` is carried in the type only. */
export interface Subscription<Name extends string = string, E extends DomainEvent = DomainEvent> {
  readonly aggregateName: Name;
  readonly types: readonly E["type"][];
}

/** A recorded event of one of the subscriptions, narrowed by its aggregate and its type. */
export type HandledEvent<S extends Subscription> =
  S extends Subscription<infer Name, infer E> ? RecordedEvent<E> & { aggregateName: Name } : never;

/** The events a processor with these subscriptions receives. */
export type HandledBy<S extends readonly Subscription[]> = HandledEvent<S[number]>;

/** All of an aggregate's events, or only the named ones. */
export function on<A extends AnyAggregate>(aggregate: A): Subscription<A["name"], EventOfAggregate<A>>;
export function on<A extends AnyAggregate, const T extends EventOfAggregate<A>["type"]>(
  aggregate: A,
  ...types: [T, ...T[]]
): Subscription<A["name"], Extract<EventOfAggregate<A>, { type: T }>>;
export function on(aggregate: AnyAggregate, ...types: string[]): Subscription {
  for (const type of types) {
    // Caught at compile time for typed aggregates; this guards the untyped ones.
    if (!aggregate.eventTypes.includes(type)) throw new Error(`${aggregate.name} has no event ${type}`);
  }
  return { aggregateName: aggregate.name, types: types.length > 0 ? types : [...aggregate.eventTypes] };
}

/** The bare event type names of the subscriptions: what the engine routes by. */
export const eventTypesOf = (subscriptions: readonly Subscription[]): string[] => [
  ...new Set(subscriptions.flatMap((s) => s.types)),
];

/** A guard that keeps the events the subscriptions name, matched by (aggregate, type). */
export function handledBy<S extends readonly Subscription[]>(
  subscriptions: S,
): (event: RecordedEvent) => event is HandledBy<S> {
  const keys = new Set(subscriptions.flatMap((s) => s.types.map((type) => `${s.aggregateName}/${type}`)));
  return (event: RecordedEvent): event is HandledBy<S> => keys.has(`${event.aggregateName}/${event.type}`);
}

/** A recorded event of that aggregate, narrowed by type (what `on(aggregate)` delivers). */
export type RecordedEventOfAggregate<A extends AnyAggregate> = HandledEvent<
  Subscription<A["name"], EventOfAggregate<A>>
>;
