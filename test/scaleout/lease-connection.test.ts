/**
 * Lease renewals do not queue behind command traffic (src/store/lease-connection.ts): with every
 * connection of an instance's pool held in an open transaction, as a burst of commands would hold
 * them, that instance still renews its leases and stops no runner over several lease lifetimes,
 * and another instance on the same database takes none of them over. Its lease connection, once
 * dropped by the server, is opened anew and the leases still hold. Real PostgreSQL only: leases
 * exist only there (on PGlite there is one process by nature and no lease).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { LEASE_APPLICATION_NAME } from "../../src/store/lease-connection.ts";
import { openTestDatabase, type TestDatabase } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";
import { instanceConfig } from "./support/config.ts";
import { letLifetimesPass, liveLeases, moves } from "./support/lease-table.ts";

const TTL_MS = 2_000;
const config = instanceConfig({ leaseTtlMs: TTL_MS, signals: "off" });
const SMALL_POOL = 2;

describe("lease renewals beside a saturated pool (PostgreSQL)", () => {
  let db: TestDatabase;
  let apps: App[] = [];
  let releasePool: () => void = () => {};

  beforeEach(async () => {
    db = await openTestDatabase("postgres");
  });
  afterEach(async () => {
    releasePool();
    for (const app of apps) {
      await app.stop().catch(() => undefined);
      await app.db.close().catch(() => undefined);
    }
    apps = [];
    await db.close();
  });

  async function startInstance(poolSize: number): Promise<App> {
    const own = await openDatabase(parseDatabaseUrl(db.url!, ""), { poolSize });
    const app = await createApp({ config, database: own, contexts: [banking] });
    await app.start();
    apps.push(app);
    return app;
  }

  /** The server-side process IDs of the lease connections open now. */
  async function leaseBackends(): Promise<number[]> {
    const rows = await db.sql.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
      [LEASE_APPLICATION_NAME],
    );
    return rows.map((r) => r.pid);
  }

  it("an instance whose pool is fully held keeps its leases and runners, also across a lost lease connection", {
    timeout: 180_000,
  }, async () => {
    const busy = await startInstance(SMALL_POOL);
    const other = await startInstance(8);
    const ids = busy.runners.processorIds;
    await waitUntil(
      "both instances settled, each with leases",
      async () => {
        const held = await liveLeases(db.sql);
        return (
          ids.every((id) => held.has(id)) &&
          [busy, other].every((app) => app.leases!.holding().length > 0) &&
          ids.every((id) => [busy, other].filter((a) => a.runners.runner(id)?.state === "running").length === 1)
        );
      },
      { timeoutMs: 30_000 },
    );
    const before = await liveLeases(db.sql);
    const busyHolds = busy.leases!.holding().sort();

    // Every connection of the busy instance's pool held in an open transaction: its runners and
    // command worker queue for a connection (and time out waiting), as under a burst of commands.
    const gate = new Promise<void>((resolve) => {
      releasePool = resolve;
    });
    const holders = Array.from({ length: SMALL_POOL }, () =>
      busy.db.sql.transaction(async (tx) => {
        await tx.query("SELECT 1");
        await gate;
      }),
    );
    await waitUntil(
      "the busy instance's pool fully held, with requests waiting",
      () => {
        const use = busy.db.poolUse!();
        return use.total === SMALL_POOL && use.idle === 0 && use.waiting > 0;
      },
      { timeoutMs: 30_000 },
    );

    // Several lifetimes: every lease would have expired unless renewed; none moved.
    await letLifetimesPass(db.sql, 4, TTL_MS);
    expect(busy.db.poolUse!().idle).toBe(0);
    expect(moves(before, await liveLeases(db.sql))).toEqual(new Map());
    expect(busy.leases!.holding().sort()).toEqual(busyHolds);
    for (const id of busyHolds) expect(busy.runners.runner(id)!.state).toBe("running");

    // The server drops the lease connections (both instances'): the next ticks open new ones.
    const dropped = await leaseBackends();
    expect(dropped).toHaveLength(2);
    await db.sql.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [dropped]);
    await waitUntil(
      "new lease connections",
      async () => {
        const now = await leaseBackends();
        return now.length === 2 && now.every((pid) => !dropped.includes(pid));
      },
      { timeoutMs: 30_000 },
    );
    await letLifetimesPass(db.sql, 4, TTL_MS);
    expect(moves(before, await liveLeases(db.sql))).toEqual(new Map());
    expect(busy.leases!.holding().sort()).toEqual(busyHolds);
    for (const id of busyHolds) expect(busy.runners.runner(id)!.state).toBe("running");

    releasePool();
    await Promise.all(holders);
  });
});
