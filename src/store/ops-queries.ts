/**
 * The SQL operators need (health checks, metrics, the CLI's status, dead letters, export and
 * import of the log), kept apart from the hot paths' stores. Read-mostly: the only writes are
 * dead-letter discards and the import, which refuses a database that already holds events.
 */
import type { LogCheckpoint, RecordedEvent } from "../core/messages.ts";
import { EVENT_COLUMNS, type EventRow, toRecorded } from "./event-log.ts";
import type { SqlClient, SqlExecutor } from "./sql.ts";

type Int = string | number | bigint;

/** How far one processor's checkpoint stands behind the head of the log. */
export interface ProcessorLag {
  processorId: string;
  checkpoint: LogCheckpoint;
  /** Events past the checkpoint (finished or not): what the processor still has to read. */
  eventsBehind: number;
  /**
   * Age of the next event the processor will read (the oldest past its checkpoint in reading
   * order: one index probe, not a scan), on the database clock; 0 when caught up.
   */
  secondsBehind: number;
  /** When the checkpoint last moved (null: the processor never started here). */
  updatedAt: Date | null;
}

/** The shared command queue as `status` shows it (src/store/command-queue.ts). */
export interface CommandQueueStatus {
  /** PENDING commands (claimed or not: async, and synchronous ones not processed yet). */
  pending: number;
  /** PENDING commands under a live claim, by the process holding them. */
  claimed: { holder: string; commands: number }[];
  /** Age of the oldest PENDING command, on the database clock; 0 when none. */
  oldestPendingSeconds: number;
  /** PENDING commands whose processing threw at least once (the worst first, at most 10). */
  failing: { commandId: string; aggregate: string; failures: number; lastError: string | null }[];
  failingCount: number;
  /** Commands set aside after COMMAND_MAX_FAILURES failures (status FAILED), waiting for an operator. */
  givenUp: number;
}

export interface StoredDeadLetter {
  processorId: string;
  position: bigint;
  eventType: string;
  error: string;
  attempts: number;
  createdAt: Date;
}

/** One event as export writes it and import reads it (positions and IDs kept as they were). */
export interface ExportedEvent {
  position: string;
  tenantId: string;
  aggregateName: string;
  aggregateId: string;
  version: number;
  type: string;
  schemaVersion: number;
  data: unknown;
  commandId: string;
  requestId: string;
  correlationId: string;
  causationId: string;
  createdAt: string;
}

export class OpsQueries {
  constructor(private readonly sql: SqlClient) {}

  /** Resolves when the database answers a trivial query. */
  async ping(): Promise<void> {
    await this.sql.query("SELECT 1");
  }

  /** Names of the migrations recorded as finished (and not rolled back). */
  async appliedMigrations(): Promise<string[]> {
    const rows = await this.sql.query<{ migration_name: string }>(
      `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    return rows.map((r) => r.migration_name);
  }

  /**
   * The lag of each named processor. A processor without a checkpoint row has read nothing
   * yet: it is behind by the whole log. Counting stops at `cap` so a scrape stays cheap on a
   * processor that is very far behind.
   */
  async processorLag(processorIds: readonly string[], cap = 100_000): Promise<ProcessorLag[]> {
    const rows = await this.sql.query<{
      name: string;
      transaction_id: Int;
      position: Int;
      updated_at: Date | null;
      behind: Int;
      seconds: number | string | null;
    }>(
      `SELECT p.name, coalesce(c.transaction_id, 0) AS transaction_id, coalesce(c.position, 0) AS position,
              c.updated_at,
              (SELECT count(*) FROM (
                 SELECT 1 FROM events e
                  WHERE (e.transaction_id, e.position) > (coalesce(c.transaction_id, 0)::text::xid8, coalesce(c.position, 0))
                  LIMIT $2) AS past) AS behind,
              (SELECT extract(epoch FROM now() - e.created_at) FROM events e
                WHERE (e.transaction_id, e.position) > (coalesce(c.transaction_id, 0)::text::xid8, coalesce(c.position, 0))
                ORDER BY e.transaction_id, e.position LIMIT 1
              ) AS seconds
         FROM unnest($1::text[]) AS p(name)
         LEFT JOIN processor_checkpoints c ON c.processor_name = p.name
        ORDER BY p.name`,
      [processorIds, cap],
    );
    return rows.map((r) => ({
      processorId: r.name,
      checkpoint: { transactionId: BigInt(r.transaction_id), position: BigInt(r.position) },
      eventsBehind: Number(r.behind),
      secondsBehind: Math.max(0, Number(r.seconds ?? 0)),
      updatedAt: r.updated_at,
    }));
  }

  /** The newest position and the number of events in the log. */
  async head(): Promise<{ position: bigint; events: number }> {
    const rows = await this.sql.query<{ position: Int | null; events: Int }>(
      "SELECT max(position) AS position, count(*) AS events FROM events",
    );
    return { position: BigInt(rows[0]?.position ?? 0), events: Number(rows[0]?.events ?? 0) };
  }

  async deadLetterCounts(): Promise<Map<string, number>> {
    const rows = await this.sql.query<{ processor_name: string; n: Int }>(
      "SELECT processor_name, count(*) AS n FROM dead_letters GROUP BY processor_name",
    );
    return new Map(rows.map((r) => [r.processor_name, Number(r.n)]));
  }

  /** Asynchronous commands waiting for a worker: how many, and how long the oldest has waited. */
  async asyncQueue(): Promise<{ depth: number; oldestSeconds: number }> {
    const rows = await this.sql.query<{ depth: Int; oldest: number | string | null }>(
      `SELECT count(*) AS depth, extract(epoch FROM now() - min(created_at)) AS oldest
         FROM commands WHERE status = 'PENDING' AND is_async`,
    );
    return { depth: Number(rows[0]?.depth ?? 0), oldestSeconds: Math.max(0, Number(rows[0]?.oldest ?? 0)) };
  }

  /** Where the shared command queue stands: a few aggregates over the PENDING and FAILED rows. */
  async commandQueue(): Promise<CommandQueueStatus> {
    const [totals] = await this.sql.query<{
      pending: Int;
      oldest: number | string | null;
      failing: Int;
      given_up: Int;
    }>(
      `SELECT count(*) FILTER (WHERE status = 'PENDING') AS pending,
              extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'PENDING')) AS oldest,
              count(*) FILTER (WHERE status = 'PENDING' AND failures > 0) AS failing,
              count(*) FILTER (WHERE status = 'FAILED') AS given_up
         FROM commands WHERE status IN ('PENDING', 'FAILED')`,
    );
    const claimed = await this.sql.query<{ holder: string; n: Int }>(
      `SELECT claimed_by AS holder, count(*) AS n FROM commands
        WHERE status = 'PENDING' AND claimed_by IS NOT NULL AND claimed_until > clock_timestamp()
        GROUP BY claimed_by ORDER BY claimed_by`,
    );
    const failing = await this.sql.query<{
      command_id: string;
      aggregate_name: string;
      aggregate_id: string;
      failures: number;
      last_error: string | null;
    }>(
      `SELECT command_id, aggregate_name, aggregate_id, failures, last_error FROM commands
        WHERE status = 'PENDING' AND failures > 0 ORDER BY failures DESC, created_at LIMIT 10`,
    );
    return {
      pending: Number(totals?.pending ?? 0),
      claimed: claimed.map((r) => ({ holder: r.holder, commands: Number(r.n) })),
      oldestPendingSeconds: Math.max(0, Number(totals?.oldest ?? 0)),
      failing: failing.map((r) => ({
        commandId: r.command_id,
        aggregate: `${r.aggregate_name}/${r.aggregate_id}`,
        failures: r.failures,
        lastError: r.last_error,
      })),
      failingCount: Number(totals?.failing ?? 0),
      givenUp: Number(totals?.given_up ?? 0),
    };
  }

  async deadLetters(processorId?: string): Promise<StoredDeadLetter[]> {
    const rows = await this.sql.query<DeadLetterRow>(
      `SELECT processor_name, position, event_type, error, attempts, created_at FROM dead_letters
        WHERE $1::text IS NULL OR processor_name = $1 ORDER BY processor_name, position`,
      [processorId ?? null],
    );
    return rows.map(toDeadLetter);
  }

  async deadLetter(processorId: string, position: bigint): Promise<StoredDeadLetter | undefined> {
    const rows = await this.sql.query<DeadLetterRow>(
      `SELECT processor_name, position, event_type, error, attempts, created_at FROM dead_letters
        WHERE processor_name = $1 AND position = $2::bigint`,
      [processorId, position.toString()],
    );
    return rows[0] ? toDeadLetter(rows[0]) : undefined;
  }

  /** Removes one dead letter; false when there was none. */
  async discardDeadLetter(processorId: string, position: bigint, executor: SqlExecutor = this.sql): Promise<boolean> {
    const rows = await executor.query(
      "DELETE FROM dead_letters WHERE processor_name = $1 AND position = $2::bigint RETURNING 1",
      [processorId, position.toString()],
    );
    return rows.length > 0;
  }

  /** The event at `position`, as runners see it (before upcasting). */
  async eventAt(position: bigint): Promise<RecordedEvent | undefined> {
    const [row] = await this.sql.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE position = $1::bigint`, [
      position.toString(),
    ]);
    return row && toRecorded(row);
  }

  /** Up to `limit` events after `after`, in the log's reading order (transaction, position). */
  async exportPage(
    after: LogCheckpoint,
    limit: number,
  ): Promise<{ events: ExportedEvent[]; next: LogCheckpoint | undefined }> {
    const rows = await this.sql.query<ExportRow>(
      `SELECT ${EVENT_COLUMNS} FROM events
        WHERE (transaction_id, position) > ($1::text::xid8, $2::bigint)
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY events.transaction_id, events.position
        LIMIT $3`,
      [after.transactionId.toString(), after.position.toString(), limit],
    );
    const last = rows.at(-1);
    return {
      events: rows.map((r) => ({
        position: String(r.position),
        tenantId: r.tenant_id,
        aggregateName: r.aggregate_name,
        aggregateId: r.aggregate_id,
        version: r.version,
        type: r.type,
        schemaVersion: r.schema_version,
        data: r.data,
        commandId: r.command_id,
        requestId: r.request_id,
        correlationId: r.correlation_id,
        causationId: r.causation_id,
        createdAt: new Date(r.created_at).toISOString(),
      })),
      next: last ? { transactionId: BigInt(last.transaction_id), position: BigInt(last.position) } : undefined,
    };
  }

  /** Inserts exported events as they were (positions included), inside the caller's transaction. */
  async importEvents(tx: SqlExecutor, events: readonly ExportedEvent[]): Promise<void> {
    if (events.length === 0) return;
    await tx.query(
      `INSERT INTO events (position, tenant_id, aggregate_name, aggregate_id, version, type, schema_version, body,
                           command_id, request_id, correlation_id, causation_id, created_at)
       SELECT (e->>'position')::bigint, e->>'tenantId', e->>'aggregateName', e->>'aggregateId', (e->>'version')::int,
              e->>'type', (e->>'schemaVersion')::int, e->'data', (e->>'commandId')::uuid, e->>'requestId',
              (e->>'correlationId')::uuid, e->>'causationId', (e->>'createdAt')::timestamptz
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS item(e, ord)
        ORDER BY (e->>'position')::bigint`,
      [JSON.stringify(events)],
    );
  }

  /**
   * After an import: the position sequence continues past the imported events, and the given
   * processors (sagas, event handlers) start after them, so nothing is sent or notified twice.
   * Returns the checkpoint they were set to.
   */
  async finishImport(tx: SqlExecutor, skipProcessors: readonly string[]): Promise<LogCheckpoint | undefined> {
    await tx.query(
      `SELECT setval(pg_get_serial_sequence('events', 'position'), (SELECT max(position) FROM events))
        WHERE EXISTS (SELECT 1 FROM events)`,
    );
    const rows = await tx.query<{ transaction_id: string; position: Int }>(
      `SELECT transaction_id::text AS transaction_id, position FROM events
        ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1`,
    );
    const last = rows[0];
    if (!last) return undefined;
    await tx.query(
      `INSERT INTO processor_checkpoints (processor_name, transaction_id, position, updated_at)
       SELECT name, $2::bigint, $3::bigint, now() FROM unnest($1::text[]) AS name
       ON CONFLICT (processor_name) DO UPDATE
          SET transaction_id = excluded.transaction_id, position = excluded.position, updated_at = now()`,
      [skipProcessors, last.transaction_id, String(last.position)],
    );
    return { transactionId: BigInt(last.transaction_id), position: BigInt(last.position) };
  }

  /** Whether the log holds any event (import refuses to mix two histories). */
  async hasEvents(): Promise<boolean> {
    const rows = await this.sql.query<{ found: boolean }>("SELECT EXISTS (SELECT 1 FROM events) AS found");
    return rows[0]?.found === true;
  }
}

interface DeadLetterRow {
  processor_name: string;
  position: Int;
  event_type: string;
  error: string;
  attempts: number;
  created_at: Date;
}

const toDeadLetter = (r: DeadLetterRow): StoredDeadLetter => ({
  processorId: r.processor_name,
  position: BigInt(r.position),
  eventType: r.event_type,
  error: r.error,
  attempts: r.attempts,
  createdAt: r.created_at,
});

/** An event row as export reads it: the event log's row (PGlite may give the time as text). */
type ExportRow = Omit<EventRow, "created_at" | "traceparent"> & { created_at: Date | string };
