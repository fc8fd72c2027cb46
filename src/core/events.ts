/**
 * An aggregate's events, declared once as values: each event name maps to the zod schema of its
 * data. Everything else derives from that one declaration — the event union the decider and the
 * processors are typed with, the list of event types the engine subscribes by, the optional
 * check of decided events before they are stored, and the upcasters that read older shapes and
 * older names of an event (their inputs typed by the old schema).
 *
 * Stored type names stay the plain names declared here (`AccountCreated`): they are scoped by
 * their aggregate (aggregate names are unique across contexts, and processors subscribe to
 * (aggregate, event) pairs), so two contexts may both declare `Created`.
 */
import type { z } from "zod";
import { InvalidEvent } from "./errors.ts";
import type { DomainEvent, StoredEventShape } from "./messages.ts";

/** Reads one older shape of an event's data and returns the current shape. */
export interface Upcaster<Current> {
  readonly lift: (data: unknown) => Current;
}

/**
 * An older shape of an event: its schema (checked when read) and how it becomes the current one.
 * `up`'s argument is typed by `schema`, so an upcaster needs no cast.
 */
export function upcaster<Old extends z.ZodType, Current>(
  schema: Old,
  up: (old: z.output<Old>) => Current,
): Upcaster<Current> {
  return { lift: (data) => up(schema.parse(data)) };
}

/** One event with a history: its current schema and version, older versions, older names. */
export interface EventDeclaration<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  /** The current shape's version, stamped on every new event. Default 1. */
  readonly version: number;
  /** Older versions (by number), each lifted straight to the current shape. */
  readonly upcasters: Readonly<Record<number, Upcaster<z.output<S>>>>;
  /** Names this event was stored under before it was renamed: such rows read as this event. */
  readonly renamedFrom: readonly string[];
}

export function versioned<S extends z.ZodType>(
  schema: S,
  options: { version?: number; upcasters?: Record<number, Upcaster<z.output<S>>>; renamedFrom?: readonly string[] },
): EventDeclaration<S> {
  return {
    schema,
    version: options.version ?? 1,
    upcasters: options.upcasters ?? {},
    renamedFrom: options.renamedFrom ?? [],
  };
}

/** Event name → its data's schema (or a `versioned(...)` declaration). */
export type EventSchemas = Readonly<Record<string, z.ZodType | EventDeclaration>>;

type SchemaOf<D> = D extends EventDeclaration<infer S> ? S : D extends z.ZodType ? D : never;

/** The discriminated union of events a declaration describes. */
export type EventOf<C extends EventSchemas> = {
  [K in keyof C & string]: DomainEvent<K, z.output<SchemaOf<C[K]>>>;
}[keyof C & string];

const declarationOf = (entry: z.ZodType | EventDeclaration): EventDeclaration =>
  "schema" in entry && "upcasters" in entry ? entry : versioned(entry, {});

/** What an aggregate derives from its event declaration; the functions are pure. */
export interface EventCatalog<E extends DomainEvent> {
  readonly types: readonly E["type"][];
  /** Whether any event has an older version or an older name (else stored events are current). */
  readonly hasHistory: boolean;
  /** Lifts a stored event (older version or older name) to its current shape. */
  upcast(event: StoredEventShape): E;
  /** Stamps the current schema version on a decided event (and, with `validate`, checks its data). */
  prepare(event: E, validate: boolean): E;
}

export function eventCatalog<C extends EventSchemas>(schemas: C): EventCatalog<EventOf<C>> {
  type E = EventOf<C>;
  const byName = new Map<string, { name: string; declaration: EventDeclaration }>();
  for (const [name, entry] of Object.entries(schemas)) {
    const declaration = declarationOf(entry);
    byName.set(name, { name, declaration });
    for (const old of declaration.renamedFrom) byName.set(old, { name, declaration });
  }
  const isEvent = (event: DomainEvent): event is E => byName.get(event.type)?.name === event.type;
  const types = Object.keys(schemas).filter((name): name is E["type"] => byName.has(name));
  const hasHistory = [...byName.values()].some(
    ({ declaration }) => declaration.version !== 1 || declaration.renamedFrom.length > 0,
  );
  return {
    types,
    hasHistory,
    upcast(stored) {
      const known = byName.get(stored.type);
      const version = known?.declaration.version ?? stored.schemaVersion;
      const lift = stored.schemaVersion < version ? known?.declaration.upcasters[stored.schemaVersion] : undefined;
      if (known && stored.schemaVersion < version && !lift) {
        throw new InvalidEvent(`No upcaster from ${stored.type} v${stored.schemaVersion} to v${version}`);
      }
      const event = {
        type: known?.name ?? stored.type,
        data: lift ? lift.lift(stored.data) : stored.data,
        schemaVersion: lift ? version : stored.schemaVersion,
      };
      if (isEvent(event)) return event;
      // A type this aggregate does not declare (one since removed, or written by hand) passes
      // through as stored, as it did before events were declared: readers skip what they do not know.
      return event as E;
    },
    prepare(event, validate) {
      const declaration = byName.get(event.type)?.declaration;
      if (!declaration) throw new InvalidEvent(`${event.type} is not a declared event`);
      if (validate) {
        const checked = declaration.schema.safeParse(event.data);
        if (!checked.success) {
          const problems = checked.error.issues.map((i) => `${i.path.join(".") || "(data)"}: ${i.message}`);
          throw new InvalidEvent(`Decided ${event.type} does not match its schema: ${problems.join("; ")}`);
        }
      }
      return declaration.version === 1 || event.schemaVersion !== undefined
        ? event
        : { ...event, schemaVersion: declaration.version };
    },
  };
}
