/**
 * Processor checkpoints: the (transaction, position) pair each processor has passed, saved in
 * the transaction that applied the batch, so a restart resumes exactly where it stopped. The
 * row also records where the processor started the first time (`start_from`) and the tenants
 * it holds after a poison event (`held_tenants`, RUNNER_ON_POISON=stop).
 */
import { LOG_START, type LogCheckpoint } from "../core/messages.ts";
import type { StartFrom } from "../core/processors.ts";
import type { SqlExecutor } from "./sql.ts";

export class CheckpointStore {
  constructor(private readonly sql: SqlExecutor) {}

  async load(processorId: string): Promise<LogCheckpoint> {
    const rows = await this.sql.query<{ transaction_id: string | number | bigint; position: string | number | bigint }>(
      "SELECT transaction_id, position FROM processor_checkpoints WHERE processor_name = $1",
      [processorId],
    );
    const row = rows[0];
    return row ? { transactionId: BigInt(row.transaction_id), position: BigInt(row.position) } : LOG_START;
  }

  /**
   * Loads the checkpoint, creating its row when missing, so that every later commit can lock
   * the row (see `lock`). A new row starts at the log's beginning, or with `from: "now"` at the
   * last event a reader may pass today (finished transactions only, as `EventLog.readAll` reads:
   * an event still being written sorts after it, so it is read). One statement, so of several
   * processes opening at once the first decides and the others load its row.
   */
  async open(processorId: string, from: StartFrom = "beginning"): Promise<LogCheckpoint> {
    await this.sql.query(
      `INSERT INTO processor_checkpoints (processor_name, transaction_id, position, start_from)
       SELECT $1, coalesce(head.transaction_id, 0), coalesce(head.position, 0), $2
         FROM (SELECT NULL) AS always
         LEFT JOIN LATERAL (
                SELECT events.transaction_id::text::bigint AS transaction_id, events.position FROM events
                 WHERE $2 = 'now' AND events.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
                 ORDER BY events.transaction_id DESC, events.position DESC
                 LIMIT 1) AS head ON true
       ON CONFLICT (processor_name) DO NOTHING`,
      [processorId, from],
    );
    return this.load(processorId);
  }

  /** The tenants the processor holds: their events are parked, not processed (see `hold`). */
  async heldTenants(processorId: string): Promise<Set<string>> {
    const rows = await this.sql.query<{ held_tenants: string[] | null }>(
      "SELECT held_tenants FROM processor_checkpoints WHERE processor_name = $1",
      [processorId],
    );
    return new Set(rows[0]?.held_tenants ?? []);
  }

  /**
   * Holds a tenant for a processor, in the caller's transaction (the one that parks the
   * tenant's poison event): from then on the runner parks that tenant's events instead of
   * processing them, and every other tenant goes on.
   */
  async hold(executor: SqlExecutor, processorId: string, tenantId: string): Promise<void> {
    await executor.query(
      `UPDATE processor_checkpoints
          SET held_tenants = array_append(coalesce(held_tenants, '{}'), $2::text)
        WHERE processor_name = $1 AND NOT ($2::text = ANY (coalesce(held_tenants, '{}')))`,
      [processorId, tenantId],
    );
  }

  /**
   * Lets a held tenant's events through again (an operator fixed the cause). Its parked events
   * stay in dead_letters for replay; a running runner sees the change when it next opens.
   */
  async release(processorId: string, tenantId: string): Promise<void> {
    await this.sql.query(
      "UPDATE processor_checkpoints SET held_tenants = array_remove(held_tenants, $2::text) WHERE processor_name = $1",
      [processorId, tenantId],
    );
  }

  /**
   * Locks the processor's checkpoint row until `executor`'s transaction ends and returns it.
   * A runner takes this lock first in every batch; a projection rebuild takes it to pause the
   * live runner while it swaps the tables in. Taking it first (before any read-model write)
   * keeps the two from deadlocking.
   */
  async lock(executor: SqlExecutor, processorId: string): Promise<LogCheckpoint | undefined> {
    const rows = await executor.query<{ transaction_id: string | number | bigint; position: string | number | bigint }>(
      "SELECT transaction_id, position FROM processor_checkpoints WHERE processor_name = $1 FOR UPDATE",
      [processorId],
    );
    const row = rows[0];
    return row ? { transactionId: BigInt(row.transaction_id), position: BigInt(row.position) } : undefined;
  }

  async loadAll(processorIds: readonly string[]): Promise<Map<string, LogCheckpoint>> {
    const rows = await this.sql.query<{
      processor_name: string;
      transaction_id: string | number | bigint;
      position: string | number | bigint;
    }>(
      "SELECT processor_name, transaction_id, position FROM processor_checkpoints WHERE processor_name = ANY($1::text[])",
      [processorIds],
    );
    const found = new Map(
      rows.map((r) => [r.processor_name, { transactionId: BigInt(r.transaction_id), position: BigInt(r.position) }]),
    );
    return new Map(processorIds.map((id) => [id, found.get(id) ?? LOG_START]));
  }

  async save(executor: SqlExecutor, processorId: string, checkpoint: LogCheckpoint): Promise<void> {
    await executor.query(
      `INSERT INTO processor_checkpoints (processor_name, transaction_id, position, updated_at)
       VALUES ($1, $2::bigint, $3::bigint, now())
       ON CONFLICT (processor_name) DO UPDATE
          SET transaction_id = excluded.transaction_id, position = excluded.position, updated_at = now()`,
      [processorId, checkpoint.transactionId.toString(), checkpoint.position.toString()],
    );
  }

  /**
   * Moves a processor's checkpoint back (to the log's start by default), keeping its row: it
   * reads the log again from there (a saga replayed for real sends nothing new). Unlike `reset`,
   * a `from: "now"` processor does not jump to the head again.
   */
  async rewind(processorId: string, to: LogCheckpoint = LOG_START): Promise<void> {
    await this.save(this.sql, processorId, to);
  }

  /**
   * Forgets a processor's progress by deleting its row (a rebuild's shadow runner): it starts
   * again as it declares, from the beginning or, for a `from: "now"` processor, at the head.
   */
  async reset(processorId: string, executor: SqlExecutor = this.sql): Promise<void> {
    await executor.query("DELETE FROM processor_checkpoints WHERE processor_name = $1", [processorId]);
  }
}
