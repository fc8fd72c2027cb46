/**
 * Processes join and leave without leases bouncing: with two instances settled, a third joins
 * and then one leaves gracefully. Each change of membership moves only the leases it must (the
 * newcomer's share; the leaver's leases), each once (counted by epochs: every takeover bumps
 * one), no instance ever holds more than its share once settled, a lease that membership did
 * not concern keeps its owner and epoch, and nothing moves while membership is stable.
 * Instances are in-process, each with its own pool as separate processes would have (real
 * processes are stopped and killed in stall.test.ts and processes.test.ts). PostgreSQL only.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { defineContext } from "../../src/core/context.ts";
import { defineEventHandler } from "../../src/core/processors.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { openTestDatabase, type TestDatabase } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";
import { instanceConfig } from "./support/config.ts";

const TTL_MS = 1_000;
const config = instanceConfig({ leaseTtlMs: TTL_MS, signals: "off" });

/**
 * Five more processors (nine with banking's four), so that shares divide evenly over two and
 * three instances. (With four processors over three instances the share is two: a newcomer may
 * rightly get none, and a join would prove nothing.)
 */
const extra = defineContext({
  name: "probe",
  aggregates: [],
  processors: [1, 2, 3, 4, 5].map((i) =>
    defineEventHandler({ name: `Idle${i}`, eventTypes: ["MoneyDeposited"], from: "beginning", handle: async () => {} }),
  ),
});

interface Lease {
  owner: string;
  epoch: bigint;
}

describe("processes joining and leaving (PostgreSQL)", () => {
  let db: TestDatabase;
  let apps: App[] = [];

  beforeEach(async () => {
    db = await openTestDatabase("postgres");
  });
  afterEach(async () => {
    for (const app of apps) {
      await app.stop().catch(() => undefined);
      await app.db.close().catch(() => undefined);
    }
    apps = [];
    await db.close();
  });

  async function startInstance(): Promise<App> {
    const own = await openDatabase(parseDatabaseUrl(db.url!, ""), { poolSize: 8 });
    const app = await createApp({ config, database: own, contexts: [banking, extra] });
    await app.start();
    apps.push(app);
    return app;
  }

  async function leases(): Promise<Map<string, Lease>> {
    const rows = await db.sql.query<{ processor_name: string; owner: string; epoch: string }>(
      "SELECT processor_name, owner, epoch::text AS epoch FROM runner_leases WHERE expires_at > clock_timestamp()",
    );
    return new Map(rows.map((r) => [r.processor_name, { owner: r.owner, epoch: BigInt(r.epoch) }]));
  }

  /** Every processor held by one of `members` and running there only, none above its share. */
  async function settled(members: App[]): Promise<boolean> {
    const ids = members[0]!.runners.processorIds;
    const share = Math.ceil(ids.length / members.length);
    const held = await leases();
    const owners = new Set(members.map((m) => m.leases!.owner));
    return (
      ids.every((id) => owners.has(held.get(id)?.owner ?? "")) &&
      members.every((m) => m.leases!.holding().length <= share) &&
      ids.every((id) => apps.filter((a) => a.runners.runner(id)?.state === "running").length === 1)
    );
  }

  /** Lets `rounds` lease lifetimes pass (judged on the server's clock), a few renewals each. */
  async function letRenewalsPass(rounds: number): Promise<void> {
    const [start] = await db.sql.query<{ t: string }>("SELECT clock_timestamp()::text AS t");
    await waitUntil(
      `${rounds} lease lifetimes`,
      async () =>
        (
          await db.sql.query<{ past: boolean }>(
            "SELECT clock_timestamp() > $1::timestamptz + make_interval(secs => $2) AS past",
            [start!.t, (rounds * TTL_MS) / 1000],
          )
        )[0]!.past,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  }

  /** The processors whose lease changed hands between two readings, and how many takeovers each. */
  function moves(before: Map<string, Lease>, after: Map<string, Lease>): Map<string, bigint> {
    const moved = new Map<string, bigint>();
    for (const [id, lease] of after) {
      const was = before.get(id)!;
      if (lease.epoch !== was.epoch || lease.owner !== was.owner) moved.set(id, lease.epoch - was.epoch);
    }
    return moved;
  }

  it("a join and a graceful leave move only the leases they concern, each once; nothing moves in between", {
    timeout: 180_000,
  }, async () => {
    const a = await startInstance();
    const b = await startInstance();
    const ids = a.runners.processorIds;
    expect(ids.length).toBe(9);
    await waitUntil("two instances settled", () => settled([a, b]), { timeoutMs: 30_000 });
    const two = await leases();

    // Stable membership: nothing moves over several lifetimes (many renewals).
    await letRenewalsPass(3);
    expect(moves(two, await leases()).size).toBe(0);
    expect(await settled([a, b])).toBe(true);

    // C joins: it takes its share, each of those leases moves once, no other lease moves.
    const c = await startInstance();
    await waitUntil("three instances settled, the newcomer at its share", () => settled([a, b, c]), {
      timeoutMs: 30_000,
      progress: () => [a, b, c].map((x) => x.leases!.holding().length).join("/"),
    });
    expect(c.leases!.holding()).toHaveLength(3);
    const three = await leases();
    const joined = moves(two, three);
    expect([...joined.keys()].sort()).toEqual([...c.leases!.holding()].sort());
    for (const takeovers of joined.values()) expect(takeovers).toBe(1n);
    for (const [id, lease] of three) if (!joined.has(id)) expect(lease).toEqual(two.get(id));
    await letRenewalsPass(3);
    expect(moves(three, await leases()).size).toBe(0);

    // B leaves gracefully: only its leases move, each once, to A and C, within their shares.
    const leaving = new Set(b.leases!.holding());
    await b.stop();
    apps = apps.filter((x) => x !== b);
    await b.db.close();
    await waitUntil("two instances settled again", () => settled([a, c]), { timeoutMs: 30_000 });
    const after = await leases();
    const left = moves(three, after);
    expect([...left.keys()].sort()).toEqual([...leaving].sort());
    for (const takeovers of left.values()) expect(takeovers).toBe(1n);
    for (const [id, lease] of after) if (!left.has(id)) expect(lease).toEqual(three.get(id));
    await letRenewalsPass(3);
    expect(moves(after, await leases()).size).toBe(0);
  });
});
