/**
 * Two Stageline processes on one PostgreSQL under load; the holder of an event handler's lease
 * is killed with SIGKILL. The survivor takes the lease over (a new epoch) within the default
 * bound, every deposit is handled, and an event handled twice is only one the killed holder
 * handled and never committed, handled again once by the survivor (at-least-once across a
 * crash, as within one process): never twice by one process.
 */
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { isAfter } from "../../src/core/messages.ts";
import { LeaseStore } from "../../src/store/lease-store.ts";
import { CREATE_ACCOUNT, DEPOSIT } from "../support/app.ts";
import { waitUntil } from "../support/eventually.ts";
import { pidOf, post } from "./support/children.ts";
import { holderOf, untilEachHoldsALease, untilTakenOver } from "./support/lease-waits.ts";
import { useProbeSuite } from "./support/probe-suite.ts";

const RECORDER = "probe.Recorder";
/** The default takeover bound the issue asks for (RUNNER_LEASE_TTL_MS here is far below it). */
const BOUND_MS = 15_000;

describe("SIGKILL of a lease holder among two processes (PostgreSQL)", () => {
  const { probe, children: instances, spawn } = useProbeSuite();
  const spawnInstance = () => spawn({ ttlMs: 1_500 });

  it("the survivor takes over within the bound; no event handled twice except the dead holder's last batch", {
    timeout: 180_000,
  }, async () => {
    const [a, b] = [await spawnInstance(), await spawnInstance()];
    const leases = new LeaseStore(probe.db.sql);
    await untilEachHoldsALease(leases, [a!, b!]);
    expect(
      await post(a!, CREATE_ACCOUNT, {
        name: "k",
        initialBalance: 0,
        command: { aggregateId: "k", waitFor: { stage: "PROCESSED" } },
      }),
    ).toBe(true);

    let load = true;
    let sent = 0;
    const client = async (i: number) => {
      while (load) {
        const via = instances.filter((x) => x.alive());
        if (
          await post(via[i % via.length]!, DEPOSIT, {
            amount: 1,
            command: { aggregateId: "k", waitFor: { stage: "PROCESSED" } },
          })
        )
          sent++;
      }
    };
    const clients = [client(0), client(1)];
    const effects = async () =>
      (await probe.db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM handler_effects"))[0]!.n;
    await waitUntil("20 deposits handled", async () => (await effects()) >= 20, { timeoutMs: 60_000 });

    const holder = await holderOf(leases, RECORDER);
    const victim = instances.find((x) => pidOf(holder.owner) === x.pid)!;
    const survivor = instances.find((x) => x !== victim)!;
    const killedAt = Date.now();
    victim.child.kill("SIGKILL");
    await once(victim.child, "exit");
    // What the dead holder committed last, read while its lease is still its own (same snapshot).
    const [final] = await probe.db.sql.query<{ transaction_id: string; position: string; epoch: string }>(
      `SELECT c.transaction_id::text AS transaction_id, c.position::text AS position, l.epoch::text AS epoch
         FROM processor_checkpoints c JOIN runner_leases l USING (processor_name) WHERE processor_name = $1`,
      [RECORDER],
    );
    expect(BigInt(final!.epoch)).toBe(holder.epoch);
    const committed = { transactionId: BigInt(final!.transaction_id), position: BigInt(final!.position) };
    await untilTakenOver(leases, RECORDER, survivor, holder);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(BOUND_MS);

    const afterKill = sent;
    await waitUntil("10 more deposits through the survivor", () => sent >= afterKill + 10, { timeoutMs: 60_000 });
    load = false;
    await Promise.all(clients);
    await waitUntil(
      "every deposit handled",
      async () => {
        const rows = await probe.db.sql.query<{ missing: number }>(
          `SELECT count(*)::int AS missing FROM events e WHERE e.type = 'MoneyDeposited'
           AND NOT EXISTS (SELECT 1 FROM handler_effects h WHERE h.position = e.position)`,
        );
        return rows[0]!.missing === 0;
      },
      { timeoutMs: 60_000 },
    );

    const twice = await probe.db.sql.query<{ position: string; transaction_id: string; pids: number[] }>(
      `SELECT h.position::text AS position, e.transaction_id::text AS transaction_id, array_agg(h.pid) AS pids
         FROM handler_effects h JOIN events e ON e.position = h.position
        GROUP BY h.position, e.transaction_id HAVING count(*) > 1`,
    );
    for (const row of twice) {
      // Only what the killed holder handled and never committed is handled again, once, by the survivor.
      expect(row.pids.sort()).toEqual([victim.pid, survivor.pid].sort());
      expect(isAfter({ transactionId: BigInt(row.transaction_id), position: BigInt(row.position) }, committed)).toBe(
        true,
      );
    }
    expect(twice.length).toBeLessThanOrEqual(1_000);
    const survivorHandled = await probe.db.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM handler_effects WHERE pid = $1",
      [survivor.pid],
    );
    expect(survivorHandled[0]!.n).toBeGreaterThan(0);
    survivor.child.kill("SIGTERM");
    await once(survivor.child, "exit");
  });
});
