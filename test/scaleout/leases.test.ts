/**
 * Runner leases with several Stageline instances on one PostgreSQL, each with its own pool as
 * separate processes would have: every processor runs in exactly one instance, no instance holds
 * more than its share, each event reaches an event handler once, a holder that stops renewing
 * (dead to the others) is taken over, and a holder stalled past its time to live with a batch in
 * hand is fenced: that batch commits nothing. (Killing real processes: processes.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { defineContext } from "../../src/core/context.ts";
import { defineEventHandler } from "../../src/core/processors.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { leaseTargetOf } from "../../src/runners/lease-shares.ts";
import { openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { LeaseStore } from "../../src/store/lease-store.ts";
import { accountCommand } from "../support/app.ts";
import { openTestDatabase, type TestDatabase } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";
import { instanceConfig } from "./support/config.ts";

const TTL_MS = 1_000;
const config = instanceConfig({ leaseTtlMs: TTL_MS, signals: "off" });
const HANDLER = "probe.Counter";

/** One instance's event handler: records which events it handled, and can be held at a gate. */
class Probe {
  handled: bigint[] = [];
  gate: Promise<void> | undefined;
  open: (() => void) | undefined;
  entered = 0;
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }
  release(): void {
    this.open?.();
    this.gate = undefined;
  }
  context() {
    return defineContext({
      name: "probe",
      aggregates: [],
      processors: [
        defineEventHandler({
          name: "Counter",
          eventTypes: ["MoneyDeposited"],
          from: "beginning",
          handle: async (event) => {
            this.entered++;
            await this.gate;
            this.handled.push(event.position);
          },
        }),
      ],
    });
  }
}

describe("runner leases across instances on one PostgreSQL", () => {
  let db: TestDatabase;
  let apps: App[] = [];
  let probes: Probe[] = [];
  let leases: LeaseStore;

  beforeEach(async () => {
    db = await openTestDatabase("postgres");
    leases = new LeaseStore(db.sql);
  });
  afterEach(async () => {
    for (const probe of probes) probe.release();
    for (const app of apps) {
      await app.stop().catch(() => undefined);
      await app.db.close().catch(() => undefined);
    }
    apps = [];
    probes = [];
    await db.close();
  });

  async function startInstance(probe = new Probe()): Promise<number> {
    const own = await openDatabase(parseDatabaseUrl(db.url!, ""), { poolSize: 8 });
    const app = await createApp({ config, database: own, contexts: [banking, probe.context()] });
    await app.start();
    apps.push(app);
    probes.push(probe);
    return apps.length - 1;
  }

  const running = (processorId: string) =>
    apps.filter((app) => app.runners.runner(processorId)?.state === "running").length;

  async function deposit(via: App, account: string, amount: number): Promise<void> {
    const result = await via.gateway.sendAndWait(accountCommand("Deposit", account, { amount }));
    expect(result.errorCode).toBe("Ok");
  }

  it("spreads the processors over three instances, each run by one, each event handled once", {
    timeout: 240_000,
  }, async () => {
    for (let i = 0; i < 3; i++) await startInstance();
    const ids = apps[0]!.runners.processorIds;
    const share = Math.ceil(ids.length / 3);
    await waitUntil(
      "every processor held by one live instance, none above its share",
      async () => {
        const holders = await leases.holders();
        const counts = apps.map((app) => app.leases!.holding().length);
        return (
          holders.filter((h) => h.live).length === ids.length &&
          counts.every((n) => n > 0 && n <= share) &&
          ids.every((id) => running(id) === 1)
        );
      },
      { timeoutMs: 30_000, progress: () => apps.map((a) => a.leases!.holding().length).join("/") },
    );
    const owners = new Set((await leases.holders()).map((h) => h.owner));
    expect(owners).toEqual(new Set(apps.map((a) => a.leases!.owner)));

    await apps[0]!.gateway.sendAndWait(
      accountCommand("CreateAccount", "shared", { name: "shared", initialBalance: 0 }),
    );
    for (let i = 0; i < 30; i++) await deposit(apps[i % 3]!, "shared", i + 1);
    const deposits = await db.sql.query<{ position: string }>(
      "SELECT position::text AS position FROM events WHERE type = 'MoneyDeposited' ORDER BY events.position",
    );
    await waitUntil("every deposit handled", () => probes.flatMap((p) => p.handled).length >= deposits.length, {
      timeoutMs: 30_000,
    });
    const handled = probes.flatMap((p) => p.handled.map(String)).sort((a, b) => Number(a) - Number(b));
    expect(handled).toEqual(deposits.map((d) => d.position));
    expect(probes.filter((p) => p.handled.length > 0)).toHaveLength(1);
    // Read-your-writes by position works on every instance, also where the projections run elsewhere.
    const last = BigInt(deposits.at(-1)!.position);
    // Generous: a transaction of another test file on the shared server can hold the xmin horizon back.
    for (const app of apps) expect(await app.runners.waitForProjections(last, 60_000)).toBe(true);
  });

  it("hands a holder's processors to the others once it stops renewing, and back when one joins", async () => {
    await startInstance();
    await startInstance();
    const ids = apps[0]!.runners.processorIds;
    await waitUntil("both instances hold leases", () => apps.every((a) => a.leases!.holding().length > 0), {
      timeoutMs: 30_000,
    });
    // Instance 0 "dies": no more renewals or heartbeats, its runners stop, nothing is released.
    const dead = apps[0]!;
    const lost = dead.leases!.holding();
    await dead.leases!.pause();
    for (const id of lost) await dead.runners.stopOne(id);
    await waitUntil(
      "instance 1 runs every processor",
      () => ids.every((id) => apps[1]!.runners.runner(id)?.state === "running"),
      {
        timeoutMs: 30_000,
      },
    );
    const holders = await leases.holders();
    for (const id of lost) {
      const holder = holders.find((h) => h.processorId === id)!;
      expect(holder.owner).toBe(apps[1]!.leases!.owner);
      expect(holder.epoch).toBeGreaterThan(1n);
    }
    // A third instance joins: it gets its share, and instance 1 gives up exactly the surplus.
    await startInstance();
    const live = [apps[1]!.leases!.owner, apps[2]!.leases!.owner];
    await waitUntil(
      "the newcomer holds its share",
      () =>
        apps[2]!.leases!.holding().length === leaseTargetOf(ids.length, live, live[1]!) &&
        ids.every((id) => running(id) === 1),
      { timeoutMs: 30_000 },
    );
  });

  it("fences a holder stalled past its time to live: the batch in its hand commits nothing", async () => {
    await startInstance();
    await apps[0]!.gateway.sendAndWait(accountCommand("CreateAccount", "f", { name: "f", initialBalance: 0 }));
    const [a] = probes;
    a!.hold();
    await deposit(apps[0]!, "f", 5);
    await waitUntil("A's handler holds the deposit", () => a!.entered > 0, { timeoutMs: 30_000 });
    const before = apps[0]!.runners.runner(HANDLER)!.checkpoint;
    // A stalls (no renewals) while its batch is in hand; B starts and takes the lease over.
    await apps[0]!.leases!.pause();
    const b = new Probe();
    b.hold();
    await startInstance(b);
    await waitUntil("B holds the handler's lease", () => apps[1]!.leases!.holding().includes(HANDLER), {
      timeoutMs: 30_000,
    });
    await waitUntil("B's handler holds the deposit", () => b.entered > 0, { timeoutMs: 30_000 });
    // A wakes up and tries to commit: its epoch is gone.
    a!.release();
    await waitUntil("A's runner stopped", () => apps[0]!.runners.runner(HANDLER)!.state === "stopped", {
      timeoutMs: 30_000,
    });
    expect(apps[0]!.runners.runner(HANDLER)!.checkpoint).toEqual(before);
    const stored = await apps[0]!.runners.checkpoints.load(HANDLER);
    expect(stored).toEqual(before);
    b.release();
    await waitUntil(
      "B committed the deposit",
      async () => (await apps[1]!.runners.checkpoints.load(HANDLER)).position > (before?.position ?? 0n),
      { timeoutMs: 30_000 },
    );
    expect(apps[1]!.runners.runner(HANDLER)!.state).toBe("running");
  });
});
