/**
 * Accepted commands. A row is the command's idempotency record (unique request per tenant,
 * kept for the retention window) and, while PENDING, an item of the queue every process takes
 * from (claims: src/store/command-queue.ts).
 */
import type { SqlExecutor } from "./sql.ts";

export interface StoredCommand {
  commandId: string;
  tenantId: string;
  requestId: string;
  payloadHash: string;
  contextName: string;
  aggregateName: string;
  aggregateId: string;
  type: string;
  /** The payload, as validated (column `body`). */
  data: Record<string, unknown>;
  header: Record<string, unknown>;
  expectedVersion: number | null;
  /** The chain's root command (this command itself when a client sent it): what a client waits on. */
  correlationId: string;
  causationId: string;
  /** Sent with async processing (column `is_async`): a worker picks it up. */
  async: boolean;
  /** FAILED: set aside after too many failures (src/store/command-queue.ts), kept until an operator re-queues it. */
  status: "PENDING" | "DONE" | "FAILED";
  createdAt: Date;
}

/** The columns `toCommand` maps (the queue's claim returns them too). */
export const COLUMNS = `command_id, tenant_id, request_id, payload_hash, context_name, aggregate_name, aggregate_id, type,
  body AS data, header, expected_version, correlation_id, causation_id, is_async AS async, status, created_at`;

/** A command's row as the driver returns it: the same fields under their snake_case column names. */
export type CommandRow = { [K in keyof StoredCommand as SnakeCase<K>]: StoredCommand[K] };

type SnakeCase<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<T>}`
  : S;

export const toCommand = (r: CommandRow): StoredCommand => ({
  commandId: r.command_id,
  tenantId: r.tenant_id,
  requestId: r.request_id,
  payloadHash: r.payload_hash,
  contextName: r.context_name,
  aggregateName: r.aggregate_name,
  aggregateId: r.aggregate_id,
  type: r.type,
  data: r.data,
  header: r.header,
  expectedVersion: r.expected_version,
  correlationId: r.correlation_id,
  causationId: r.causation_id,
  async: r.async,
  status: r.status,
  createdAt: r.created_at,
});

/**
 * The SENT result of every command in the statement's `inserted` CTE (which returns the
 * commands' IDs, routing columns and expires_at): `accept` and `acceptMany` store a command and
 * its first result in one statement.
 */
const INSERT_SENT_RESULTS = `INSERT INTO command_results (command_id, correlation_id, stage, scope, tenant_id,
    context_name, aggregate_name, aggregate_id, request_id, function_kind, function_context, processor_name,
    function_name, error_code, succeeded, positions, expires_at)
  SELECT command_id, correlation_id, 'SENT', 'STAGE', tenant_id, context_name, aggregate_name, aggregate_id,
         request_id, 'GATEWAY', '', 'CommandGateway', 'send', 'Ok', true, '{}', expires_at
    FROM inserted`;

export type AcceptOutcome =
  | { accepted: true; command: StoredCommand; sentResultId: string; sentAt: Date }
  | { accepted: false; existing: StoredCommand };

export class CommandStore {
  constructor(
    private readonly sql: SqlExecutor,
    private readonly retentionMs: number,
  ) {}

  /**
   * Stores the command and its SENT result in one statement, unless its request ID is already
   * taken in its tenant: then returns the command that holds it. Concurrent sends of one key
   * race on the unique index, so exactly one is accepted.
   */
  async accept(command: Omit<StoredCommand, "status" | "createdAt">): Promise<AcceptOutcome> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const rows = await this.sql.query<{ id: string | number | bigint; signal_time: Date; created_at: Date }>(
        `WITH inserted AS (
           INSERT INTO commands (command_id, tenant_id, request_id, payload_hash, context_name, aggregate_name,
                                 aggregate_id, type, body, header, expected_version, correlation_id, causation_id,
                                 is_async, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now() + make_interval(secs => $15))
           ON CONFLICT (tenant_id, request_id) DO NOTHING
           RETURNING command_id, correlation_id, tenant_id, context_name, aggregate_name, aggregate_id, request_id,
                     created_at, expires_at
         )
         ${INSERT_SENT_RESULTS}
         RETURNING id, signal_time, (SELECT created_at FROM inserted) AS created_at`,
        [
          command.commandId,
          command.tenantId,
          command.requestId,
          command.payloadHash,
          command.contextName,
          command.aggregateName,
          command.aggregateId,
          command.type,
          JSON.stringify(command.data),
          JSON.stringify(command.header),
          command.expectedVersion,
          command.correlationId,
          command.causationId,
          command.async,
          this.retentionMs / 1000,
        ],
        { name: "stageline_accept" },
      );
      const row = rows[0];
      if (row) {
        return {
          accepted: true,
          command: { ...command, status: "PENDING", createdAt: row.created_at },
          sentResultId: String(row.id),
          sentAt: row.signal_time,
        };
      }
      const existing = await this.byRequest(command.tenantId, command.requestId);
      if (existing && !existing.expired) return { accepted: false, existing: existing.command };
      // The key's retention window is over (or the holder vanished): free it and try once more.
      await this.sql.query(
        `DELETE FROM commands WHERE tenant_id = $1 AND request_id = $2 AND status = 'DONE' AND expires_at < now()`,
        [command.tenantId, command.requestId],
      );
    }
    const existing = await this.byRequest(command.tenantId, command.requestId);
    if (!existing) throw new Error(`Request ${command.requestId} neither stored nor found`);
    return { accepted: false, existing: existing.command };
  }

  /**
   * Stores new commands and their SENT results inside a group commit's transaction (one
   * statement for the group), as `accept` does for one; a command whose request ID is already
   * taken in its tenant is skipped and missing from the answer (the caller settles it with
   * `accept`, which finds the holder). Stored PENDING: the group then marks them as it marks others.
   */
  async acceptMany(
    tx: SqlExecutor,
    commands: readonly Omit<StoredCommand, "status" | "createdAt">[],
  ): Promise<Map<string, { sentResultId: string; sentAt: Date }>> {
    if (commands.length === 0) return new Map();
    const rows = await tx.query<{ id: string | number | bigint; command_id: string; signal_time: Date }>(
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(command_id uuid, tenant_id text, request_id text,
           payload_hash text, context_name text, aggregate_name text, aggregate_id text, type text, data jsonb,
           header jsonb, expected_version int, correlation_id uuid, causation_id text, is_async boolean)
       ), inserted AS (
         INSERT INTO commands (command_id, tenant_id, request_id, payload_hash, context_name, aggregate_name,
                               aggregate_id, type, body, header, expected_version, correlation_id, causation_id,
                               is_async, expires_at)
         SELECT command_id, tenant_id, request_id, payload_hash, context_name, aggregate_name, aggregate_id, type,
                data, header, expected_version, correlation_id, causation_id, is_async,
                now() + make_interval(secs => $2)
           FROM input
         ON CONFLICT (tenant_id, request_id) DO NOTHING
         RETURNING command_id, correlation_id, tenant_id, context_name, aggregate_name, aggregate_id, request_id,
                   expires_at
       )
       ${INSERT_SENT_RESULTS}
       RETURNING id, command_id, signal_time`,
      [
        JSON.stringify(
          commands.map((c) => ({
            command_id: c.commandId,
            tenant_id: c.tenantId,
            request_id: c.requestId,
            payload_hash: c.payloadHash,
            context_name: c.contextName,
            aggregate_name: c.aggregateName,
            aggregate_id: c.aggregateId,
            type: c.type,
            data: c.data,
            header: c.header,
            expected_version: c.expectedVersion,
            correlation_id: c.correlationId,
            causation_id: c.causationId,
            is_async: c.async,
          })),
        ),
        this.retentionMs / 1000,
      ],
      { name: "stageline_accept_many" },
    );
    return new Map(rows.map((r) => [r.command_id, { sentResultId: String(r.id), sentAt: r.signal_time }]));
  }

  async byRequest(
    tenantId: string,
    requestId: string,
  ): Promise<{ command: StoredCommand; expired: boolean } | undefined> {
    const rows = await this.sql.query<CommandRow & { expired: boolean }>(
      `SELECT ${COLUMNS}, (status = 'DONE' AND expires_at < now()) AS expired FROM commands WHERE tenant_id = $1 AND request_id = $2`,
      [tenantId, requestId],
    );
    const row = rows[0];
    return row ? { command: toCommand(row), expired: row.expired } : undefined;
  }

  async byId(commandId: string): Promise<StoredCommand | undefined> {
    const rows = await this.sql.query<CommandRow>(`SELECT ${COLUMNS} FROM commands WHERE command_id = $1`, [commandId]);
    return rows[0] ? toCommand(rows[0]) : undefined;
  }

  /** The commands still retained among `commandIds` (an audit trail's page), by ID. */
  async byIds(commandIds: readonly string[]): Promise<Map<string, StoredCommand>> {
    if (commandIds.length === 0) return new Map();
    const rows = await this.sql.query<CommandRow>(
      `SELECT ${COLUMNS} FROM commands WHERE command_id = ANY($1::uuid[])`,
      [[...new Set(commandIds)]],
    );
    return new Map(rows.map((r) => [r.command_id, toCommand(r)]));
  }

  /**
   * Marks a group of commands processed in one statement, inside the transaction that stores
   * their outcomes, and reports for each one marked the version its stream is at now (so a
   * decision taken on an older state is caught even when it appends nothing). Commands missing
   * from the answer were processed by someone else first: leave them out of the commit.
   */
  async markDoneMany(
    tx: SqlExecutor,
    commands: readonly { commandId: string; tenantId: string; aggregateName: string; aggregateId: string }[],
  ): Promise<Map<string, number>> {
    if (commands.length === 0) return new Map();
    const rows = await tx.query<{ command_id: string; version: number }>(
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(command_id uuid, tenant_id text, aggregate_name text, aggregate_id text)
       )
       UPDATE commands c SET status = 'DONE', processed_at = now(), attempts = c.attempts + 1
         FROM input
        WHERE c.command_id = input.command_id AND c.status = 'PENDING'
       RETURNING c.command_id,
                 coalesce((SELECT max(version) FROM events e
                            WHERE e.tenant_id = input.tenant_id AND e.aggregate_name = input.aggregate_name
                              AND e.aggregate_id = input.aggregate_id), 0) AS version`,
      [
        JSON.stringify(
          commands.map((c) => ({
            command_id: c.commandId,
            tenant_id: c.tenantId,
            aggregate_name: c.aggregateName,
            aggregate_id: c.aggregateId,
          })),
        ),
      ],
      { name: "stageline_mark_done_many" },
    );
    return new Map(rows.map((r) => [r.command_id, r.version]));
  }

  /** Takes back marks of `markDoneMany` in the same transaction: those commands go back to be decided again. */
  async unmark(tx: SqlExecutor, commandIds: readonly string[]): Promise<void> {
    if (commandIds.length === 0) return;
    await tx.query(
      `UPDATE commands SET status = 'PENDING', processed_at = NULL, attempts = attempts - 1
        WHERE command_id = ANY($1::uuid[])`,
      [commandIds],
    );
  }

  /** Forgets processed commands whose retention window is over. */
  async purgeExpired(): Promise<number> {
    const rows = await this.sql.query(`DELETE FROM commands WHERE status = 'DONE' AND expires_at < now() RETURNING 1`);
    return rows.length;
  }
}
