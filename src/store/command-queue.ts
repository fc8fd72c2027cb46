/**
 * The command queue every process shares: PENDING commands that no request is processing
 * (asynchronous ones, and synchronous ones orphaned by a crash). A process claims a command
 * (claimed_by, claimed_until on the database's clock) and only ever the *oldest* PENDING command
 * of its aggregate, so:
 * - no two commands of one aggregate are in the queue's hands at once: the next one becomes
 *   claimable only once the head is DONE, in the transaction that stored its events;
 * - FIFO per aggregate survives a crash: a dead claimer's claim expires and the head is claimed
 *   again, still the head;
 * - a command that throws is held back (claimed_until, growing with its failures): it blocks
 *   only its own aggregate, the claim skips it and goes on with the others;
 * - a command that has thrown too often is set aside (status FAILED, kept with its last error,
 *   never purged) so its aggregate moves on; an operator re-queues it (`requeue`) after a fix.
 * `FOR UPDATE SKIP LOCKED`: claimers running at once divide the heads between them instead of
 * queueing on one row. The claim is only a schedule: at-most-once stays with the DONE mark
 * (`CommandStore.markDoneMany`, `status = 'PENDING'`), and the stream version check stays the
 * guard against decisions on a stale state, so a claim that expires under a stalled claimer costs
 * work, never correctness. (graphile-worker keeps per-key order with a locked queue row;
 * pg-boss with singleton keys; here the head of each aggregate plays the queue row.)
 */
import { COLUMNS, type CommandRow, type StoredCommand, toCommand } from "./command-store.ts";
import type { SqlExecutor } from "./sql.ts";

/** The give-up answer's function on its PROCESSED result: what `requeue` takes back. */
export const GIVE_UP_PROCESSOR = "CommandQueue";

/** A command set aside after too many failures, as an operator sees it. */
export interface FailedCommand {
  command: StoredCommand;
  failures: number;
  lastError: string | null;
  /** When it was set aside. */
  failedAt: Date | null;
}

type FailedRow = CommandRow & { failures: number; last_error: string | null; processed_at: Date | null };

const toFailed = (r: FailedRow): FailedCommand => ({
  command: toCommand(r),
  failures: r.failures,
  lastError: r.last_error,
  failedAt: r.processed_at,
});

const secs = (ms: number) => ms / 1000;

export interface ClaimOptions {
  /** This process's name in the claims. */
  owner: string;
  limit: number;
  /** How long a claim holds unless renewed (a dead claimer's commands move after it). */
  ttlMs: number;
  /** A synchronous command still PENDING after this long was abandoned by its request. */
  orphanAfterMs: number;
}

export class CommandQueue {
  constructor(private readonly sql: SqlExecutor) {}

  /**
   * Claims up to `limit` commands, each the oldest PENDING one of its aggregate, unclaimed (or
   * its claim run out) and due: asynchronous, or synchronous and orphaned. Oldest first.
   */
  async claim(options: ClaimOptions): Promise<StoredCommand[]> {
    const rows = await this.sql.query<CommandRow>(
      `WITH claimable AS (
         SELECT c.command_id AS claimed_id FROM commands c
          WHERE c.status = 'PENDING'
            AND (c.is_async OR c.created_at < now() - make_interval(secs => $3))
            AND (c.claimed_until IS NULL OR c.claimed_until <= clock_timestamp())
            AND NOT EXISTS (
              SELECT 1 FROM commands o
               WHERE o.status = 'PENDING' AND o.tenant_id = c.tenant_id AND o.aggregate_name = c.aggregate_name
                 AND o.aggregate_id = c.aggregate_id AND (o.created_at, o.command_id) < (c.created_at, c.command_id))
          ORDER BY c.created_at, c.command_id
          LIMIT $2
          FOR UPDATE OF c SKIP LOCKED
       )
       UPDATE commands SET claimed_by = $1, claimed_until = clock_timestamp() + make_interval(secs => $4)
         FROM claimable WHERE command_id = claimable.claimed_id
       RETURNING ${COLUMNS}`,
      [options.owner, options.limit, secs(options.orphanAfterMs), secs(options.ttlMs)],
      { name: "stageline_queue_claim" },
    );
    return rows
      .map(toCommand)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.commandId.localeCompare(b.commandId));
  }

  /** Extends this owner's claims on commands still PENDING (processing takes longer than expected). */
  async renew(owner: string, commandIds: readonly string[], ttlMs: number): Promise<void> {
    if (commandIds.length === 0) return;
    await this.sql.query(
      `UPDATE commands SET claimed_until = clock_timestamp() + make_interval(secs => $3)
        WHERE command_id = ANY($2::uuid[]) AND claimed_by = $1 AND status = 'PENDING'`,
      [owner, [...commandIds], secs(ttlMs)],
    );
  }

  /**
   * Processing the command threw: give it up for `baseMs × 2^failures` (at most `maxMs`), count
   * the failure (unless `counted` is false: the database went away, not the command) and keep its error. Its aggregate waits that long; the others do not. Returns
   * the failures counted so far (undefined: no longer this owner's claim, or done meanwhile).
   */
  async fail(
    owner: string,
    commandId: string,
    error: string,
    backoff: { baseMs: number; maxMs: number },
    counted = true,
  ): Promise<number | undefined> {
    const rows = await this.sql.query<{ failures: number }>(
      `UPDATE commands
          SET claimed_by = NULL, failures = failures + CASE WHEN $6 THEN 1 ELSE 0 END, last_error = left($3, 2000),
              claimed_until = clock_timestamp() + make_interval(secs => least($4 * power(2, failures), $5))
        WHERE command_id = $1 AND claimed_by = $2 AND status = 'PENDING'
       RETURNING failures`,
      [commandId, owner, error, secs(backoff.baseMs), secs(backoff.maxMs), counted],
    );
    return rows[0]?.failures;
  }

  /**
   * Sets the command aside (FAILED) once it has failed `maxFailures` times, in the caller's
   * transaction (which stores its give-up answer): its aggregate's next command becomes the head.
   * Undefined: not PENDING (done or set aside meanwhile), or not failed that often.
   */
  async setAside(tx: SqlExecutor, commandId: string, maxFailures: number): Promise<FailedCommand | undefined> {
    const rows = await tx.query<FailedRow>(
      `UPDATE commands SET status = 'FAILED', claimed_until = NULL, processed_at = now()
        WHERE command_id = $1 AND status = 'PENDING' AND failures >= $2
       RETURNING ${COLUMNS}, failures, last_error, processed_at`,
      [commandId, maxFailures],
    );
    return rows[0] && toFailed(rows[0]);
  }

  /** The commands set aside, oldest first (at most `limit`). */
  async failed(limit = 1_000): Promise<FailedCommand[]> {
    const rows = await this.sql.query<FailedRow>(
      `SELECT ${COLUMNS}, failures, last_error, processed_at FROM commands
        WHERE status = 'FAILED' ORDER BY created_at, command_id LIMIT $1`,
      [limit],
    );
    return rows.map(toFailed);
  }

  async failedOne(commandId: string): Promise<FailedCommand | undefined> {
    const rows = await this.sql.query<FailedRow>(
      `SELECT ${COLUMNS}, failures, last_error, processed_at FROM commands WHERE command_id = $1 AND status = 'FAILED'`,
      [commandId],
    );
    return rows[0] && toFailed(rows[0]);
  }

  /**
   * Puts a command set aside back in the queue with its failures reset, in the caller's
   * transaction, and takes back its give-up answer (the command has not been processed: the next
   * PROCESSED result is its real one). It is older than its aggregate's commands that went on
   * meanwhile, so it is their head again at once; it is decided on the state they left. Its last
   * error stays until it fails again. Undefined: no such command set aside.
   */
  async requeue(tx: SqlExecutor, commandId: string): Promise<StoredCommand | undefined> {
    const rows = await tx.query<CommandRow>(
      `UPDATE commands SET status = 'PENDING', failures = 0, claimed_by = NULL, claimed_until = NULL, processed_at = NULL
        WHERE command_id = $1 AND status = 'FAILED'
       RETURNING ${COLUMNS}`,
      [commandId],
    );
    if (!rows[0]) return undefined;
    await tx.query(
      `DELETE FROM command_results
        WHERE command_id = $1 AND stage = 'PROCESSED' AND function_kind = 'GATEWAY' AND processor_name = $2`,
      [commandId, GIVE_UP_PROCESSOR],
    );
    return toCommand(rows[0]);
  }

  /** The process stops: its claims on commands not done are free at once, not left to expire. */
  async releaseAll(owner: string): Promise<void> {
    await this.sql.query(
      `UPDATE commands SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1 AND status = 'PENDING'`,
      [owner],
    );
  }
}
