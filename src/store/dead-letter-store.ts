/**
 * Events a processor gave up on, with the error, so the runner can move on (and an operator
 * can look at them, fix the processor and replay).
 */
import type { RecordedEvent } from "../core/messages.ts";
import type { SqlExecutor } from "./sql.ts";

export interface DeadLetter {
  processorId: string;
  position: bigint;
  eventType: string;
  error: string;
  attempts: number;
}

export class DeadLetterStore {
  constructor(private readonly sql: SqlExecutor) {}

  async park(
    executor: SqlExecutor,
    processorId: string,
    event: RecordedEvent,
    error: string,
    attempts: number,
  ): Promise<void> {
    await executor.query(
      `INSERT INTO dead_letters (processor_name, position, transaction_id, event_type, error, attempts)
       VALUES ($1, $2::bigint, $3::bigint, $4, $5, $6)
       ON CONFLICT (processor_name, position) DO UPDATE SET error = excluded.error, attempts = excluded.attempts`,
      [processorId, event.position.toString(), event.transactionId.toString(), event.type, error, attempts],
    );
  }

  async list(processorId?: string): Promise<DeadLetter[]> {
    const rows = await this.sql.query<{
      processor_name: string;
      position: string | number | bigint;
      event_type: string;
      error: string;
      attempts: number;
    }>(
      `SELECT processor_name, position, event_type, error, attempts FROM dead_letters
        WHERE $1::text IS NULL OR processor_name = $1 ORDER BY id`,
      [processorId ?? null],
    );
    return rows.map((r) => ({
      processorId: r.processor_name,
      position: BigInt(r.position),
      eventType: r.event_type,
      error: r.error,
      attempts: r.attempts,
    }));
  }
}
