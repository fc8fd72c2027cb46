/**
 * Accepted commands. A row is the command's idempotency record (unique request per tenant,
 * kept for the retention window) and, while PENDING, an item of the queue workers take from.
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
  body: Record<string, unknown>;
  header: Record<string, unknown>;
  expectedVersion: number | null;
  correlationId: string;
  causationId: string;
  waitCommandId: string;
  isAsync: boolean;
  status: "PENDING" | "DONE";
  createdAt: Date;
}

const COLUMNS = `command_id, tenant_id, request_id, payload_hash, context_name, aggregate_name, aggregate_id, type, body,
  header, expected_version, correlation_id, causation_id, wait_command_id, is_async, status, created_at`;

interface CommandRow {
  command_id: string;
  tenant_id: string;
  request_id: string;
  payload_hash: string;
  context_name: string;
  aggregate_name: string;
  aggregate_id: string;
  type: string;
  body: Record<string, unknown>;
  header: Record<string, unknown>;
  expected_version: number | null;
  correlation_id: string;
  causation_id: string;
  wait_command_id: string;
  is_async: boolean;
  status: "PENDING" | "DONE";
  created_at: Date;
}

const toCommand = (r: CommandRow): StoredCommand => ({
  commandId: r.command_id,
  tenantId: r.tenant_id,
  requestId: r.request_id,
  payloadHash: r.payload_hash,
  contextName: r.context_name,
  aggregateName: r.aggregate_name,
  aggregateId: r.aggregate_id,
  type: r.type,
  body: r.body,
  header: r.header,
  expectedVersion: r.expected_version,
  correlationId: r.correlation_id,
  causationId: r.causation_id,
  waitCommandId: r.wait_command_id,
  isAsync: r.is_async,
  status: r.status,
  createdAt: r.created_at,
});

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
                                 wait_command_id, is_async, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now() + make_interval(secs => $16))
           ON CONFLICT (tenant_id, request_id) DO NOTHING
           RETURNING command_id, wait_command_id, tenant_id, context_name, aggregate_name, aggregate_id, request_id,
                     created_at, expires_at
         )
         INSERT INTO command_results (command_id, wait_command_id, stage, scope, tenant_id, context_name,
                                      aggregate_name, aggregate_id, request_id, function_kind, function_context,
                                      processor_name, function_name, error_code, succeeded, positions, expires_at)
         SELECT command_id, wait_command_id, 'SENT', 'STAGE', tenant_id, context_name, aggregate_name, aggregate_id,
                request_id, 'GATEWAY', '', 'CommandGateway', 'send', 'Ok', true, '{}', expires_at
           FROM inserted
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
          JSON.stringify(command.body),
          JSON.stringify(command.header),
          command.expectedVersion,
          command.correlationId,
          command.causationId,
          command.waitCommandId,
          command.isAsync,
          this.retentionMs / 1000,
        ],
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
   * Marks the command processed, inside the transaction that stores its outcome. Returns false
   * when another processor got there first: the caller must roll back, so nothing is applied twice.
   */
  async markDone(tx: SqlExecutor, commandId: string): Promise<boolean> {
    const rows = await tx.query(
      `UPDATE commands SET status = 'DONE', processed_at = now(), attempts = attempts + 1
        WHERE command_id = $1 AND status = 'PENDING' RETURNING 1`,
      [commandId],
    );
    return rows.length === 1;
  }

  /**
   * PENDING commands a worker should process, oldest first: async ones at once, sync ones only
   * after `orphanAfterMs` (their request died before processing them, e.g. in a crash).
   */
  async pending(limit: number, orphanAfterMs: number): Promise<StoredCommand[]> {
    const rows = await this.sql.query<CommandRow>(
      `SELECT ${COLUMNS} FROM commands
        WHERE status = 'PENDING' AND (is_async OR created_at < now() - make_interval(secs => $2))
        ORDER BY created_at, command_id LIMIT $1`,
      [limit, orphanAfterMs / 1000],
    );
    return rows.map(toCommand);
  }

  /** Forgets processed commands whose retention window is over. */
  async purgeExpired(): Promise<number> {
    const rows = await this.sql.query(`DELETE FROM commands WHERE status = 'DONE' AND expires_at < now() RETURNING 1`);
    return rows.length;
  }
}
