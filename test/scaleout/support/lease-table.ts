/**
 * The lease table as the in-process lease tests read it: who holds what live now, which leases
 * changed hands between two readings (every takeover bumps an epoch, so a move cannot hide), and
 * lease lifetimes let pass on the server's clock (the one that judges every expiry).
 */
import type { SqlExecutor } from "../../../src/store/sql.ts";
import { waitUntil } from "../../support/eventually.ts";

export interface LiveLease {
  owner: string;
  epoch: bigint;
}

/** Every live lease by processor. */
export async function liveLeases(sql: SqlExecutor): Promise<Map<string, LiveLease>> {
  const rows = await sql.query<{ processor_name: string; owner: string; epoch: string }>(
    "SELECT processor_name, owner, epoch::text AS epoch FROM runner_leases WHERE expires_at > clock_timestamp()",
  );
  return new Map(rows.map((r) => [r.processor_name, { owner: r.owner, epoch: BigInt(r.epoch) }]));
}

/**
 * The processors whose lease changed hands between two readings, and how many takeovers each;
 * one live before and gone after counts as moved too.
 */
export function moves(before: Map<string, LiveLease>, after: Map<string, LiveLease>): Map<string, bigint> {
  const moved = new Map<string, bigint>();
  for (const [id, was] of before) {
    const lease = after.get(id);
    if (!lease) moved.set(id, 0n);
    else if (lease.epoch !== was.epoch || lease.owner !== was.owner) moved.set(id, lease.epoch - was.epoch);
  }
  for (const [id, lease] of after) if (!before.has(id)) moved.set(id, lease.epoch);
  return moved;
}

/** Lets `rounds` lease lifetimes pass, judged on the server's clock: a few renewals each. */
export async function letLifetimesPass(sql: SqlExecutor, rounds: number, ttlMs: number): Promise<void> {
  const [start] = await sql.query<{ t: string }>("SELECT clock_timestamp()::text AS t");
  await waitUntil(
    `${rounds} lease lifetimes`,
    async () =>
      (
        await sql.query<{ past: boolean }>(
          "SELECT clock_timestamp() > $1::timestamptz + make_interval(secs => $2) AS past",
          [start!.t, (rounds * ttlMs) / 1000],
        )
      )[0]!.past,
    { timeoutMs: 60_000 + rounds * ttlMs, intervalMs: 100 },
  );
}
