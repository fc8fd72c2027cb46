/**
 * Processes join and leave without leases bouncing: with two instances settled, a third joins
 * and then one leaves gracefully. Each change of membership moves only the leases it must (to
 * the newcomer; the leaver's leases), each once (counted by epochs: every takeover bumps one),
 * every instance settles at exactly its balanced target (src/runners/lease-shares.ts), a lease
 * that membership did not concern keeps its owner and epoch, and nothing moves while membership
 * is stable. With four processors over three instances (where `ceil` shares of two left a
 * newcomer with none), every instance ends with a lease. Instances are in-process, each with its
 * own pool as separate processes would have (real processes are stopped and killed in
 * stall.test.ts and processes.test.ts). PostgreSQL only: leases exist only there.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { type BoundedContext, defineContext } from "../../src/core/context.ts";
import { defineEventHandler } from "../../src/core/processors.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { leaseTargetOf } from "../../src/runners/lease-shares.ts";
import { openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { openTestDatabase, type TestDatabase } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";
import { instanceConfig } from "./support/config.ts";
import { letLifetimesPass, liveLeases, moves } from "./support/lease-table.ts";

const TTL_MS = 1_000;
const config = instanceConfig({ leaseTtlMs: TTL_MS, signals: "off" });

/** Five more processors: nine with banking's four, an uneven split over two instances. */
const extra = defineContext({
  name: "probe",
  aggregates: [],
  processors: [1, 2, 3, 4, 5].map((i) =>
    defineEventHandler({ name: `Idle${i}`, eventTypes: ["MoneyDeposited"], from: "beginning", handle: async () => {} }),
  ),
});

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

  async function startInstance(contexts: BoundedContext[]): Promise<App> {
    const own = await openDatabase(parseDatabaseUrl(db.url!, ""), { poolSize: 8 });
    const app = await createApp({ config, database: own, contexts });
    await app.start();
    apps.push(app);
    return app;
  }

  /** Every processor held by one of `members` and running there only, each member at exactly its target. */
  async function settled(members: App[]): Promise<boolean> {
    const ids = members[0]!.runners.processorIds;
    const held = await liveLeases(db.sql);
    const owners = members.map((m) => m.leases!.owner);
    return (
      ids.every((id) => owners.includes(held.get(id)?.owner ?? "")) &&
      members.every((m) => m.leases!.holding().length === leaseTargetOf(ids.length, owners, m.leases!.owner)) &&
      ids.every((id) => apps.filter((a) => a.runners.runner(id)?.state === "running").length === 1)
    );
  }

  const counts = (members: App[]) => () => members.map((x) => x.leases!.holding().length).join("/");
  const letRenewalsPass = (rounds: number) => letLifetimesPass(db.sql, rounds, TTL_MS);

  it("a join and a graceful leave move only the leases they concern, each once; nothing moves in between", {
    timeout: 180_000,
  }, async () => {
    const a = await startInstance([banking, extra]);
    const b = await startInstance([banking, extra]);
    const ids = a.runners.processorIds;
    expect(ids.length).toBe(9);
    await waitUntil("two instances settled", () => settled([a, b]), { timeoutMs: 30_000, progress: counts([a, b]) });
    expect([a, b].map((x) => x.leases!.holding().length).sort()).toEqual([4, 5]);
    const two = await liveLeases(db.sql);

    // Stable membership: nothing moves over several lifetimes (many renewals).
    await letRenewalsPass(3);
    expect(moves(two, await liveLeases(db.sql))).toEqual(new Map());
    expect(await settled([a, b])).toBe(true);

    // C joins: it takes its share, each of those leases moves once, no other lease moves.
    const c = await startInstance([banking, extra]);
    await waitUntil("three instances settled, the newcomer at its share", () => settled([a, b, c]), {
      timeoutMs: 30_000,
      progress: counts([a, b, c]),
    });
    expect(c.leases!.holding()).toHaveLength(3);
    const three = await liveLeases(db.sql);
    const joined = moves(two, three);
    expect([...joined.keys()].sort()).toEqual([...c.leases!.holding()].sort());
    for (const takeovers of joined.values()) expect(takeovers).toBe(1n);
    for (const [id, lease] of three) if (!joined.has(id)) expect(lease).toEqual(two.get(id));
    await letRenewalsPass(3);
    expect(moves(three, await liveLeases(db.sql))).toEqual(new Map());

    // B leaves gracefully: only its leases move, each once, to A and C, up to their targets.
    const leaving = new Set(b.leases!.holding());
    await b.stop();
    apps = apps.filter((x) => x !== b);
    await b.db.close();
    await waitUntil("two instances settled again", () => settled([a, c]), {
      timeoutMs: 30_000,
      progress: counts([a, c]),
    });
    const after = await liveLeases(db.sql);
    const left = moves(three, after);
    expect([...left.keys()].sort()).toEqual([...leaving].sort());
    for (const takeovers of left.values()) expect(takeovers).toBe(1n);
    for (const [id, lease] of after) if (!left.has(id)) expect(lease).toEqual(three.get(id));
    await letRenewalsPass(3);
    expect(moves(after, await liveLeases(db.sql))).toEqual(new Map());
  });

  it("four processors over three instances: every instance ends with a lease, and nothing moves after", {
    timeout: 120_000,
  }, async () => {
    const a = await startInstance([banking]);
    const b = await startInstance([banking]);
    expect(a.runners.processorIds).toHaveLength(4);
    await waitUntil("two instances settled", () => settled([a, b]), { timeoutMs: 30_000, progress: counts([a, b]) });
    const two = await liveLeases(db.sql);

    const c = await startInstance([banking]);
    await waitUntil("three instances settled", () => settled([a, b, c]), {
      timeoutMs: 30_000,
      progress: counts([a, b, c]),
    });
    expect([a, b, c].map((x) => x.leases!.holding().length).sort()).toEqual([1, 1, 2]);
    const three = await liveLeases(db.sql);
    // What moved went to the newcomer, each lease once.
    const joined = moves(two, three);
    expect([...joined.keys()].sort()).toEqual([...c.leases!.holding()].sort());
    for (const takeovers of joined.values()) expect(takeovers).toBe(1n);

    await letRenewalsPass(3);
    expect(moves(three, await liveLeases(db.sql))).toEqual(new Map());
    expect(await settled([a, b, c])).toBe(true);
  });
});
