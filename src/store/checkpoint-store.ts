/**
 * Processor checkpoints: the (transaction, position) pair each processor has passed, saved in
 * the transaction that applied the batch, so a restart resumes exactly where it stopped.
 */
import { LOG_START, type LogCheckpoint } from "../core/messages.ts";
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
   * Loads the checkpoint, creating its row (at the log's start) when missing, so that every
   * later commit can lock the row: see `lock`.
   */
  async open(processorId: string): Promise<LogCheckpoint> {
    await this.sql.query(
      "INSERT INTO processor_checkpoints (processor_name) VALUES ($1) ON CONFLICT (processor_name) DO NOTHING",
      [processorId],
    );
    return this.load(processorId);
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

  /** Forget a processor's progress: it replays the log from the start (projection rebuilds). */
  async reset(processorId: string, executor: SqlExecutor = this.sql): Promise<void> {
    await executor.query("DELETE FROM processor_checkpoints WHERE processor_name = $1", [processorId]);
  }
}
