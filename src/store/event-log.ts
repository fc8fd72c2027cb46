/**
 * The event log: append with optimistic concurrency, read one stream, read everything in a
 * gap-safe order. The only place that writes the `events` table.
 */
import { EventEmitter } from "node:events";
import { VersionConflict } from "../core/errors.ts";
import {
  type DomainEvent,
  type EventMetadata,
  isAfter,
  LOG_START,
  type LogCheckpoint,
  type RecordedEvent,
  type StreamKey,
  streamName,
} from "../core/messages.ts";
import { constraintOf, type SqlExecutor, sqlState, UNIQUE_VIOLATION } from "./sql.ts";

export const EVENT_COLUMNS = `position, transaction_id::text AS transaction_id, tenant_id, aggregate_name, aggregate_id,
  version, type, schema_version, body AS data, command_id, request_id, correlation_id, causation_id, traceparent, created_at`;

/** One row of `events` as the driver returns it (selected with EVENT_COLUMNS). */
export interface EventRow {
  position: string | number | bigint;
  transaction_id: string;
  tenant_id: string;
  aggregate_name: string;
  aggregate_id: string;
  version: number;
  type: string;
  schema_version: number;
  /** Column `body`, selected as `data`. */
  data: unknown;
  command_id: string;
  request_id: string;
  correlation_id: string;
  causation_id: string;
  traceparent: string | null;
  created_at: Date;
}

export const toRecorded = (row: EventRow): RecordedEvent => ({
  position: BigInt(row.position),
  transactionId: BigInt(row.transaction_id),
  tenantId: row.tenant_id,
  aggregateName: row.aggregate_name,
  aggregateId: row.aggregate_id,
  version: row.version,
  type: row.type,
  schemaVersion: row.schema_version,
  data: row.data,
  commandId: row.command_id,
  requestId: row.request_id,
  correlationId: row.correlation_id,
  causationId: row.causation_id,
  traceparent: row.traceparent,
  createdAt: row.created_at,
});

export interface ReadAllResult {
  events: RecordedEvent[];
  /** Where the next read starts: the last event's (transaction, position), or the input. */
  checkpoint: LogCheckpoint;
}

export interface ReadAllOptions {
  /** Read inside this transaction instead of on the shared connection. */
  executor?: SqlExecutor;
  /**
   * Read no further than this checkpoint (which a reader already passed, so everything up to it
   * is final): a projection rebuild follows its live runner this way, never ahead of it.
   */
  through?: LogCheckpoint;
}

/** One stream's share of a group commit. */
export interface AppendBatch {
  stream: StreamKey;
  expectedVersion: number;
  events: readonly DomainEvent[];
  metadata: EventMetadata;
}

export class EventLog {
  /** Emits `appended` after each commit, so in-process readers wake without polling. */
  readonly signals = new EventEmitter().setMaxListeners(0);

  constructor(private readonly sql: SqlExecutor) {}

  /**
   * Appends `events` to `stream`, which must be at `expectedVersion` (0: a new stream). Atomic:
   * all events or none. A stream that moved on raises VersionConflict, never a driver error.
   */
  async append(
    stream: StreamKey,
    expectedVersion: number,
    events: readonly DomainEvent[],
    metadata: EventMetadata,
    executor: SqlExecutor = this.sql,
  ): Promise<RecordedEvent[]> {
    if (events.length === 0) return [];
    const items = events.map((e) => ({ type: e.type, schemaVersion: e.schemaVersion ?? 1, body: e.data ?? null }));
    let rows: EventRow[];
    try {
      // One statement: the version check and the insert see the same snapshot, and the
      // unique (stream, version) index settles a race between two appenders.
      rows = await executor.query<EventRow>(
        `WITH current AS (
           SELECT coalesce(max(version), 0) AS version FROM events
            WHERE tenant_id = $1 AND aggregate_name = $2 AND aggregate_id = $3
         ), inserted AS (
           INSERT INTO events (tenant_id, aggregate_name, aggregate_id, version, type, schema_version, body,
                               command_id, request_id, correlation_id, causation_id, traceparent)
           SELECT $1, $2, $3, $4 + item.ord, item.value->>'type', (item.value->>'schemaVersion')::int,
                  item.value->'body', $5, $6, $7, $8, $10
             FROM current, jsonb_array_elements($9::jsonb) WITH ORDINALITY AS item(value, ord)
            WHERE current.version = $4
            ORDER BY item.ord
           RETURNING ${EVENT_COLUMNS}
         )
         SELECT * FROM inserted ORDER BY position`,
        [
          stream.tenantId,
          stream.aggregateName,
          stream.aggregateId,
          expectedVersion,
          metadata.commandId,
          metadata.requestId,
          metadata.correlationId,
          metadata.causationId,
          JSON.stringify(items),
          metadata.traceparent ?? null,
        ],
      );
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION && constraintOf(error) === "events_stream_version_key") {
        throw new VersionConflict(streamName(stream), expectedVersion);
      }
      throw error;
    }
    if (rows.length === 0) {
      const actual = await this.streamVersion(stream, executor);
      throw new VersionConflict(streamName(stream), expectedVersion, actual);
    }
    const recorded = rows.map(toRecorded);
    if (executor === this.sql) this.signals.emit("appended", recorded);
    return recorded;
  }

  /**
   * Appends to several streams in one statement (a group commit): each stream must be at its
   * `expectedVersion`. A stream that moved on is skipped and reported in `conflicts` (its batch
   * inserts nothing); the others are appended. A race with a concurrent appender still ends in
   * the unique index and raises VersionConflict for the whole statement (its transaction must
   * roll back). At most one batch per stream.
   */
  async appendMany(
    batches: readonly AppendBatch[],
    executor: SqlExecutor = this.sql,
  ): Promise<{ recorded: RecordedEvent[][]; conflicts: Set<number> }> {
    const recorded: RecordedEvent[][] = batches.map(() => []);
    const conflicts = new Set<number>();
    const input = batches.flatMap((b, ord) =>
      b.events.length === 0
        ? []
        : [
            {
              ord,
              tenant_id: b.stream.tenantId,
              aggregate_name: b.stream.aggregateName,
              aggregate_id: b.stream.aggregateId,
              expected: b.expectedVersion,
              command_id: b.metadata.commandId,
              request_id: b.metadata.requestId,
              correlation_id: b.metadata.correlationId,
              causation_id: b.metadata.causationId,
              traceparent: b.metadata.traceparent ?? undefined,
              events: b.events.map((e) => ({
                type: e.type,
                schemaVersion: e.schemaVersion ?? 1,
                body: e.data ?? null,
              })),
            },
          ],
    );
    if (input.length === 0) return { recorded, conflicts };
    let rows: (EventRow & { ord: number })[];
    try {
      rows = await executor.query<EventRow & { ord: number }>(
        `WITH input AS (
           SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(ord int, tenant_id text, aggregate_name text,
             aggregate_id text, expected int, command_id uuid, request_id text, correlation_id uuid,
             causation_id text, traceparent text, events jsonb)
         ), ready AS (
           SELECT input.* FROM input
            WHERE coalesce((SELECT max(version) FROM events e
                             WHERE e.tenant_id = input.tenant_id AND e.aggregate_name = input.aggregate_name
                               AND e.aggregate_id = input.aggregate_id), 0) = input.expected
         ), inserted AS (
           INSERT INTO events (tenant_id, aggregate_name, aggregate_id, version, type, schema_version, body,
                               command_id, request_id, correlation_id, causation_id, traceparent)
           SELECT r.tenant_id, r.aggregate_name, r.aggregate_id, r.expected + item.n, item.value->>'type',
                  (item.value->>'schemaVersion')::int, item.value->'body', r.command_id, r.request_id,
                  r.correlation_id, r.causation_id, r.traceparent
             FROM ready r, jsonb_array_elements(r.events) WITH ORDINALITY AS item(value, n)
            ORDER BY r.ord, item.n
           RETURNING ${EVENT_COLUMNS}
         )
         SELECT inserted.*, ready.ord FROM inserted JOIN ready USING (command_id) ORDER BY position`,
        [JSON.stringify(input)],
        { name: "stageline_append_many" },
      );
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION && constraintOf(error) === "events_stream_version_key") {
        throw new VersionConflict("(group)", -1);
      }
      throw error;
    }
    for (const row of rows) recorded[row.ord]!.push(toRecorded(row));
    for (const { ord } of input) if (recorded[ord]!.length === 0) conflicts.add(ord);
    return { recorded, conflicts };
  }

  /** Call after committing a transaction that appended through another executor. */
  notifyAppended(events: RecordedEvent[]): void {
    if (events.length > 0) this.signals.emit("appended", events);
  }

  async streamVersion(stream: StreamKey, executor: SqlExecutor = this.sql): Promise<number> {
    const rows = await executor.query<{ version: number | null }>(
      "SELECT max(version) AS version FROM events WHERE tenant_id = $1 AND aggregate_name = $2 AND aggregate_id = $3",
      [stream.tenantId, stream.aggregateName, stream.aggregateId],
    );
    return rows[0]?.version ?? 0;
  }

  /** The stream's events with a version above `afterVersion` (and up to `toVersion`), in order. */
  async readStream(stream: StreamKey, afterVersion = 0, toVersion?: number): Promise<RecordedEvent[]> {
    const rows = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events
        WHERE tenant_id = $1 AND aggregate_name = $2 AND aggregate_id = $3 AND version > $4
          AND ($5::int IS NULL OR version <= $5::int)
        ORDER BY version`,
      [stream.tenantId, stream.aggregateName, stream.aggregateId, afterVersion, toVersion ?? null],
      { name: "stageline_read_stream" },
    );
    return rows.map(toRecorded);
  }

  /**
   * Several streams' events in one statement: for each range, the versions above `afterVersion`
   * up to `toVersion`; in order per stream (the snapshot runner's batch).
   */
  async readStreams(
    ranges: readonly { stream: StreamKey; afterVersion: number; toVersion: number }[],
  ): Promise<RecordedEvent[]> {
    if (ranges.length === 0) return [];
    const rows = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events
         JOIN unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[])
              AS r(r_tenant, r_aggregate, r_id, r_after, r_to)
           ON events.tenant_id = r.r_tenant AND events.aggregate_name = r.r_aggregate
          AND events.aggregate_id = r.r_id AND events.version > r.r_after AND events.version <= r.r_to
        ORDER BY events.tenant_id, events.aggregate_name, events.aggregate_id, events.version`,
      [
        ranges.map((r) => r.stream.tenantId),
        ranges.map((r) => r.stream.aggregateName),
        ranges.map((r) => r.stream.aggregateId),
        ranges.map((r) => r.afterVersion),
        ranges.map((r) => r.toVersion),
      ],
      { name: "stageline_read_streams" },
    );
    return rows.map(toRecorded);
  }

  /**
   * The stream's version at `time` (time travel; 0: none yet): the end of the longest run of
   * versions from the first written at or before `time`, so a state in time is always a prefix
   * of the stream.
   */
  async versionAt(stream: StreamKey, time: Date): Promise<number> {
    const rows = await this.sql.query<{ version: number | null }>(
      `SELECT coalesce((SELECT min(version) - 1 FROM events
                         WHERE tenant_id = $1 AND aggregate_name = $2 AND aggregate_id = $3 AND created_at > $4),
                       (SELECT max(version) FROM events
                         WHERE tenant_id = $1 AND aggregate_name = $2 AND aggregate_id = $3)) AS version`,
      [stream.tenantId, stream.aggregateName, stream.aggregateId, time],
    );
    return rows[0]?.version ?? 0;
  }

  /**
   * Up to `limit` events after `after`, in (transaction, position) order, and only from
   * transactions that are finished: no transaction still running can later commit an event
   * that sorts before what this returns. So a reader that checkpoints the last pair it saw never
   * skips an event, however commits interleave. (Positions alone are not safe: a transaction
   * can commit position n after n+1 is already visible.)
   */
  // ORDER BY names the table's columns: a bare `transaction_id` would sort by the text alias in
  // EVENT_COLUMNS, so transaction 1006 would come before 803 and be read (and applied) twice.
  async readAll(after: LogCheckpoint = LOG_START, limit = 100, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const executor = options.executor ?? this.sql;
    const through = options.through;
    const rows = await executor.query<EventRow>(
      through
        ? // Everything up to a checkpoint some reader already passed is final: no xmin test needed.
          `SELECT ${EVENT_COLUMNS} FROM events
            WHERE (transaction_id, position) > ($1::text::xid8, $2::bigint)
              AND (transaction_id, position) <= ($4::text::xid8, $5::bigint)
            ORDER BY events.transaction_id, events.position
            LIMIT $3`
        : `SELECT ${EVENT_COLUMNS} FROM events
            WHERE (transaction_id, position) > ($1::text::xid8, $2::bigint)
              AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY events.transaction_id, events.position
            LIMIT $3`,
      [
        after.transactionId.toString(),
        after.position.toString(),
        limit,
        ...(through ? [through.transactionId.toString(), through.position.toString()] : []),
      ],
    );
    const events = rows.map(toRecorded);
    const last = events.at(-1);
    if (last && events.length === limit) {
      // Never end a batch inside a transaction: a command's events then always arrive together.
      const rest = await executor.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE transaction_id = $1::text::xid8 AND position > $2 ORDER BY position`,
        [last.transactionId.toString(), last.position.toString()],
      );
      events.push(...rest.map(toRecorded).filter((e) => !through || !isAfter(e, through)));
    }
    const end = events.at(-1);
    return { events, checkpoint: end ? { transactionId: end.transactionId, position: end.position } : after };
  }

  /** The (transaction, position) of the event at `position`, to compare with checkpoints. */
  async locate(position: bigint): Promise<LogCheckpoint | undefined> {
    const rows = await this.sql.query<{ transaction_id: string }>(
      "SELECT transaction_id::text AS transaction_id FROM events WHERE position = $1",
      [position.toString()],
    );
    return rows[0] ? { transactionId: BigInt(rows[0].transaction_id), position } : undefined;
  }

  /** How many events the log holds (for progress reports). */
  async count(): Promise<number> {
    const rows = await this.sql.query<{ count: string | number | bigint }>("SELECT count(*) AS count FROM events");
    return Number(rows[0]?.count ?? 0);
  }

  /** The newest position any committed event has (0 on an empty log). */
  /** Whether any event, finished or not, lies past the checkpoint (a draining reader waits for it). */
  async hasEventsAfter(after: LogCheckpoint): Promise<boolean> {
    const rows = await this.sql.query<{ found: boolean }>(
      "SELECT EXISTS (SELECT 1 FROM events WHERE (transaction_id, position) > ($1::text::xid8, $2::bigint)) AS found",
      [after.transactionId.toString(), after.position.toString()],
    );
    return rows[0]?.found === true;
  }

  async headPosition(): Promise<bigint> {
    const rows = await this.sql.query<{ position: string | number | null }>(
      "SELECT max(position) AS position FROM events",
    );
    return BigInt(rows[0]?.position ?? 0);
  }
}
