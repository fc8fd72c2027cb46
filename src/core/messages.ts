/**
 * The messages Stageline moves: commands in, events out. Plain data, no I/O.
 */

/** Identifies one event stream: one aggregate instance of one tenant. */
export interface StreamKey {
  tenantId: string;
  aggregateName: string;
  aggregateId: string;
}

export const streamName = (s: StreamKey): string => `${s.tenantId}/${s.aggregateName}/${s.aggregateId}`;

/** An event as a decider produces it: a discriminated union member `{ type, data }`. */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  /** Version of the event's shape; upcasters lift older versions to the newest. Defaults to 1. */
  schemaVersion?: number;
}

/** An event as stored, before upcasting: an upcaster lifts it to the shape `evolve` knows. */
export interface StoredEventShape {
  type: string;
  schemaVersion: number;
  data: unknown;
}

/** Where an event came from: the command that caused it and the chain it belongs to. */
export interface EventMetadata {
  commandId: string;
  requestId: string;
  /** The root command of the causal chain (a saga's commands share their root's). */
  correlationId: string;
  /** What directly caused the command: a command ID, or `event:<position>` for saga commands. */
  causationId: string;
  /** The command's W3C trace context when tracing is on (src/ops/tracing.ts); else absent. */
  traceparent?: string | null;
}

/** One row of the event log, for one event type. */
export interface RecordedEventOf<Type extends string = string, Data = unknown> extends StreamKey, EventMetadata {
  /** Global append order; not gap-free in commit order. */
  position: bigint;
  /** The writing transaction: readers order and checkpoint by (transactionId, position). */
  transactionId: bigint;
  version: number;
  type: Type;
  schemaVersion: number;
  data: Data;
  createdAt: Date;
}

/**
 * One row of the event log. Distributive: `RecordedEvent<A | B>` is `RecordedEventOf<A> |
 * RecordedEventOf<B>`, so a `switch (event.type)` narrows `event.data` with no cast.
 */
export type RecordedEvent<E extends DomainEvent = DomainEvent> = E extends DomainEvent
  ? RecordedEventOf<E["type"], E["data"]>
  : never;

/** Where a reader of the whole log stands. Compare as the pair, never the position alone. */
export interface LogCheckpoint {
  transactionId: bigint;
  position: bigint;
}

export const LOG_START: LogCheckpoint = Object.freeze({ transactionId: 0n, position: 0n });

export const isAfter = (a: LogCheckpoint, b: LogCheckpoint): boolean =>
  a.transactionId > b.transactionId || (a.transactionId === b.transactionId && a.position > b.position);

/**
 * Keep the checkpoint opaque outside the event log and the checkpoint store: compare with
 * `isAfter` / `sameCheckpoint`, take one from an event with `checkpointOf`. Then another log
 * position (a cell's own, a logical-replication LSN) can replace the pair (docs/scale-out.md).
 */
export const sameCheckpoint = (a: LogCheckpoint, b: LogCheckpoint): boolean => !isAfter(a, b) && !isAfter(b, a);

/** Where a reader stands once it has read `event`. */
export const checkpointOf = (event: Pick<RecordedEvent, "transactionId" | "position">): LogCheckpoint => ({
  transactionId: event.transactionId,
  position: event.position,
});
