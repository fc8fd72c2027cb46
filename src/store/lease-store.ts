/**
 * Runner leases on PostgreSQL: one row per processor (owner, epoch, expiry) and one heartbeat
 * row per live process. Every expiry is set and judged with the server's clock_timestamp(), so
 * the processes' clocks never matter. A takeover bumps the epoch; a batch commits only while its
 * epoch holds (`fence`, in the batch's own transaction). No session advisory locks: a pooler
 * breaks them and their loss is silent.
 */
import { LeaseLost } from "../core/errors.ts";
import type { SqlExecutor } from "./sql.ts";

export interface HeldLease {
  processorId: string;
  epoch: bigint;
}

const ttl = (ms: number) => ms / 1000;

export class LeaseStore {
  constructor(private readonly sql: SqlExecutor) {}

  /**
   * Says this process is alive for `ttlMs` more, forgets processes long gone, and returns the
   * owners of the processes alive now (this one included; in no particular order).
   */
  async heartbeat(owner: string, ttlMs: number): Promise<string[]> {
    const rows = await this.sql.query<{ owner: string }>(
      `WITH beat AS (
         INSERT INTO runner_processes (owner, expires_at) VALUES ($1, clock_timestamp() + make_interval(secs => $2))
         ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at
         RETURNING owner
       ), forgotten AS (
         DELETE FROM runner_processes WHERE expires_at < clock_timestamp() - make_interval(secs => $2 * 10)
       )
       SELECT owner FROM beat
       UNION ALL
       SELECT owner FROM runner_processes
        WHERE expires_at > clock_timestamp() AND owner <> (SELECT owner FROM beat)`,
      [owner, ttl(ttlMs)],
    );
    return rows.map((r) => r.owner);
  }

  /** Extends the leases still held (same owner, same epoch, not yet expired); returns those. */
  async renew(owner: string, leases: readonly HeldLease[], ttlMs: number): Promise<HeldLease[]> {
    if (leases.length === 0) return [];
    const rows = await this.sql.query<{ processor_name: string; epoch: string | number | bigint }>(
      `UPDATE runner_leases l SET expires_at = clock_timestamp() + make_interval(secs => $2)
         FROM jsonb_to_recordset($3::jsonb) AS held(processor_name text, epoch bigint)
        WHERE l.processor_name = held.processor_name AND l.epoch = held.epoch AND l.owner = $1
          AND l.expires_at > clock_timestamp()
       RETURNING l.processor_name, l.epoch`,
      [
        owner,
        ttl(ttlMs),
        JSON.stringify(leases.map((l) => ({ processor_name: l.processorId, epoch: l.epoch.toString() }))),
      ],
    );
    return rows.map((r) => ({ processorId: r.processor_name, epoch: BigInt(r.epoch) }));
  }

  /**
   * Takes the processor's lease if nobody holds it (no row, or an expired one): a new epoch.
   * Waits while a batch of the old holder is committing (it holds the row, see `fence`).
   */
  async acquire(owner: string, processorId: string, ttlMs: number): Promise<HeldLease | undefined> {
    const rows = await this.sql.query<{ epoch: string | number | bigint }>(
      `INSERT INTO runner_leases (processor_name, owner, epoch, expires_at)
       VALUES ($1, $2, 1, clock_timestamp() + make_interval(secs => $3))
       ON CONFLICT (processor_name) DO UPDATE
          SET owner = excluded.owner, epoch = runner_leases.epoch + 1, expires_at = excluded.expires_at,
              acquired_at = clock_timestamp()
        WHERE runner_leases.expires_at <= clock_timestamp()
       RETURNING epoch`,
      [processorId, owner, ttl(ttlMs)],
    );
    const row = rows[0];
    return row ? { processorId, epoch: BigInt(row.epoch) } : undefined;
  }

  /** Gives a lease up at once (its runner has stopped), so another process need not wait it out. */
  async release(owner: string, lease: HeldLease): Promise<void> {
    await this.sql.query(
      `UPDATE runner_leases SET expires_at = clock_timestamp()
        WHERE processor_name = $1 AND owner = $2 AND epoch = $3 AND expires_at > clock_timestamp()`,
      [lease.processorId, owner, lease.epoch.toString()],
    );
  }

  /** The process leaves: its heartbeat row goes, so the others' shares grow at once. */
  async leave(owner: string): Promise<void> {
    await this.sql.query("DELETE FROM runner_processes WHERE owner = $1", [owner]);
  }

  /** Who holds what now (tests, operations). */
  async holders(): Promise<{ processorId: string; owner: string; epoch: bigint; live: boolean }[]> {
    const rows = await this.sql.query<{
      processor_name: string;
      owner: string;
      epoch: string | number | bigint;
      live: boolean;
    }>(
      `SELECT processor_name, owner, epoch, expires_at > clock_timestamp() AS live FROM runner_leases
        ORDER BY processor_name`,
    );
    return rows.map((r) => ({ processorId: r.processor_name, owner: r.owner, epoch: BigInt(r.epoch), live: r.live }));
  }

  /**
   * The fence, inside a batch's transaction just before its checkpoint is saved: the lease must
   * still be this owner's, at this epoch, unexpired. The row stays share-locked until the batch
   * commits, so no takeover can slip in between this check and the commit (a taker waits).
   */
  async fence(executor: SqlExecutor, owner: string, lease: HeldLease): Promise<void> {
    const rows = await executor.query(
      `SELECT 1 FROM runner_leases
        WHERE processor_name = $1 AND owner = $2 AND epoch = $3 AND expires_at > clock_timestamp()
        FOR SHARE`,
      [lease.processorId, owner, lease.epoch.toString()],
      { name: "stageline_lease_fence" },
    );
    if (rows.length === 0) throw new LeaseLost(lease.processorId, lease.epoch);
  }
}
