/**
 * What the console reads that no hot path needs: a tenant's recent commands (newest first,
 * each with the command whose saga sent it), the commands of one chain, and the results of many
 * commands at once. Command IDs are UUIDv7, so the primary key is also the time order and a
 * page of recent commands is a short backward index scan, never a sort of the whole table.
 */
import type { CommandResult } from "../core/stages.ts";
import { type ResultRow, toResult } from "./result-store.ts";
import type { SqlExecutor } from "./sql.ts";

export interface ConsoleCommand {
  commandId: string;
  tenantId: string;
  type: string;
  contextName: string;
  aggregateName: string;
  aggregateId: string;
  requestId: string;
  /** PENDING (stored, not processed yet) or DONE (processed: accepted or refused). */
  status: string;
  async: boolean;
  createdAt: Date;
  processedAt: Date | null;
  /** The chain's root (this command itself when a client sent it). */
  correlationId: string;
  /** The command whose event made a saga send this one; null for a client's command. */
  parentCommandId: string | null;
  /** The payload, as validated (column `body`). */
  data: Record<string, unknown>;
  header: Record<string, unknown>;
}

interface Row {
  command_id: string;
  tenant_id: string;
  type: string;
  context_name: string;
  aggregate_name: string;
  aggregate_id: string;
  request_id: string;
  status: string;
  is_async: boolean;
  created_at: Date | string;
  processed_at: Date | string | null;
  correlation_id: string;
  parent_command_id: string | null;
  data: Record<string, unknown>;
  header: Record<string, unknown>;
}

// A saga's command is caused by `event:<position>`; the event's own command is its parent.
const SELECT = `SELECT c.command_id, c.tenant_id, c.type, c.context_name, c.aggregate_name, c.aggregate_id,
       c.request_id, c.status, c.is_async, c.created_at, c.processed_at, c.correlation_id, c.body AS data, c.header,
       (SELECT e.command_id FROM events e
         WHERE e.position = CASE WHEN c.causation_id ~ '^event:[0-9]{1,18}$'
                                 THEN substring(c.causation_id FROM 7)::bigint END
           AND e.tenant_id = c.tenant_id) AS parent_command_id
  FROM commands c`;

/**
 * `$n` null, or the subject recorded with the chain's root command (when it has one): with
 * AUTH_RESULTS_SENDER_ONLY a caller sees only its own chains, as with its result subscriptions.
 */
const SENT_BY = (n: number) => `($${n}::text IS NULL OR coalesce(
    (SELECT root.header->>'subject' FROM commands root
      WHERE root.command_id = c.correlation_id AND root.tenant_id = c.tenant_id), $${n}) = $${n})`;

const toCommand = (r: Row): ConsoleCommand => ({
  commandId: r.command_id,
  tenantId: r.tenant_id,
  type: r.type,
  contextName: r.context_name,
  aggregateName: r.aggregate_name,
  aggregateId: r.aggregate_id,
  requestId: r.request_id,
  status: r.status,
  async: r.is_async,
  createdAt: new Date(r.created_at),
  processedAt: r.processed_at === null ? null : new Date(r.processed_at),
  correlationId: r.correlation_id,
  parentCommandId: r.parent_command_id,
  data: r.data,
  header: r.header,
});

export class ConsoleQueries {
  constructor(private readonly sql: SqlExecutor) {}

  // Each read takes `sender`: when given, only the chains that subject sent (see SENT_BY).

  /** The tenant's newest commands, older than `before` (a command ID) when given. */
  async recentCommands(tenantId: string, limit: number, before?: string, sender?: string): Promise<ConsoleCommand[]> {
    const rows = await this.sql.query<Row>(
      `${SELECT} WHERE c.tenant_id = $1 AND ($2::uuid IS NULL OR c.command_id < $2::uuid) AND ${SENT_BY(4)}
        ORDER BY c.command_id DESC LIMIT $3`,
      [tenantId, before ?? null, limit, sender ?? null],
    );
    return rows.map(toCommand);
  }

  /** The tenant's commands among `commandIds` (those still retained). */
  async commands(tenantId: string, commandIds: readonly string[], sender?: string): Promise<ConsoleCommand[]> {
    if (commandIds.length === 0) return [];
    const rows = await this.sql.query<Row>(
      `${SELECT} WHERE c.tenant_id = $1 AND c.command_id = ANY($2::uuid[]) AND ${SENT_BY(3)} ORDER BY c.command_id`,
      [tenantId, [...new Set(commandIds)], sender ?? null],
    );
    return rows.map(toCommand);
  }

  /** The tenant's commands created within the last `seconds` (the live feed's re-read after a lost signal). */
  async sentSince(tenantId: string, seconds: number, limit: number, sender?: string): Promise<ConsoleCommand[]> {
    const rows = await this.sql.query<Row>(
      `${SELECT} WHERE c.tenant_id = $1 AND c.created_at > now() - make_interval(secs => $2) AND ${SENT_BY(4)}
        ORDER BY c.command_id DESC LIMIT $3`,
      [tenantId, seconds, limit, sender ?? null],
    );
    return rows.reverse().map(toCommand);
  }

  /**
   * Every command of the chain whose root is `correlationId`, oldest first. Found through the
   * results' chain index: every accepted command has a SENT result carrying its root.
   */
  async chain(tenantId: string, correlationId: string, limit: number, sender?: string): Promise<ConsoleCommand[]> {
    const rows = await this.sql.query<Row>(
      `${SELECT} WHERE c.tenant_id = $1 AND c.command_id IN (
          SELECT r.command_id FROM command_results r WHERE r.correlation_id = $2::uuid AND r.stage = 'SENT')
        AND ${SENT_BY(4)}
        ORDER BY c.command_id LIMIT $3`,
      [tenantId, correlationId, limit, sender ?? null],
    );
    return rows.map(toCommand);
  }

  /** The results of many commands, oldest first, grouped by command ID. */
  async results(commandIds: readonly string[]): Promise<Map<string, CommandResult[]>> {
    const grouped = new Map<string, CommandResult[]>(commandIds.map((id) => [id, []]));
    if (commandIds.length === 0) return grouped;
    const rows = await this.sql.query<ResultRow>(
      "SELECT * FROM command_results WHERE command_id = ANY($1::uuid[]) ORDER BY id",
      [[...new Set(commandIds)]],
    );
    for (const row of rows) grouped.get(row.command_id)?.push(toResult(row));
    return grouped;
  }
}
