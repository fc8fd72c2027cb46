/**
 * Projection rebuilds without downtime, on both engines: under live deposits nothing is lost or
 * applied twice, readers see the old rows until the swap, progress is reported, errors are typed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineContext } from "../../src/core/context.ts";
import { defineProjection } from "../../src/core/processors.ts";
import { Registry } from "../../src/core/registry.ts";
import { Account, type AccountState } from "../../src/domains/banking/account.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { ProjectionRebuilds, type RebuildProgress } from "../../src/runners/rebuild.ts";
import { accountCommand, startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";

// Small batches: the rebuild takes many of them, so live deposits interleave with it.
const runner = { batchSize: 5, pollMs: 20, maxAttempts: 2, onPoison: "dead-letter" as const };
const send = accountCommand;

describe.each(engines)("projection rebuild on %s", (engine) => {
  let t: TestApp;
  const ids = [1, 2, 3, 4].map((n) => `${engine}-rb${n}`);

  beforeAll(async () => {
    t = await startTestApp(engine, { runner });
    for (const [n, id] of ids.entries()) {
      const r = await t.app.gateway.sendAndWait(send("CreateAccount", id, { name: id, initialBalance: 100 * n }), {
        stage: "PROCESSED",
      });
      expect(r.succeeded).toBe(true);
    }
    for (let i = 0; i < 30; i++) {
      await t.app.gateway.sendAndWait(send("Deposit", ids[i % ids.length]!, { amount: i + 1 }), { stage: "PROCESSED" });
    }
    await caughtUp();
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function caughtUp() {
    expect(await t.app.runners.waitForProjections(await t.app.events.headPosition(), 20_000)).toBe(true);
  }

  /** What the AccountView rows must be: each account's state replayed from its events. */
  async function expectViewsMatchTheLog() {
    const views = await t.db.prisma.accountView.findMany({ where: { id: { in: ids } }, orderBy: { id: "asc" } });
    expect(views.map((v) => v.id)).toEqual([...ids].sort());
    for (const view of views) {
      const stream = { tenantId: "default", aggregateName: Account.name, aggregateId: view.id };
      const { state, version } = await t.app.aggregates.load(Account, stream);
      const account = state as AccountState;
      expect({ id: view.id, name: view.name, balance: view.balance, version: view.version }).toEqual({
        id: view.id,
        name: account.name,
        balance: account.balance,
        version,
      });
    }
  }

  it("under live deposits: readers see the old rows until the swap, then rows equal to a replay; nothing lost or doubled", {
    timeout: 120_000,
  }, async () => {
    // A marker the projection never writes: the old rows still carry it, the rebuilt ones cannot.
    await t.db.sql.query("UPDATE account_views SET name = 'OLD' WHERE id = ANY($1::text[])", [ids]);

    let sending = true;
    let sent = 0;
    const traffic = (async () => {
      for (let i = 0; sending; i++) {
        const r = await t.app.gateway.sendAndWait(send("Deposit", ids[i % ids.length]!, { amount: 1000 + i }), {
          stage: "PROCESSED",
        });
        expect(r.succeeded).toBe(true);
        sent++;
        // PGlite answers in microtasks only: without a pause this loop would starve every timer.
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    const seen: RebuildProgress[] = [];
    let namesBeforeSwap: string[] = [];
    const job = await t.app.rebuilds.start("AccountView", {
      async beforeSwap() {
        // Deposits keep arriving while the shadow fills; make sure some land right before the swap too.
        const before = sent;
        await waitUntil("3 deposits while the shadow fills", () => sent >= before + 3, {
          timeoutMs: 30_000,
          progress: () => `${sent - before} deposited`,
        });
        const rows = await t.db.prisma.accountView.findMany({ where: { id: { in: ids } } });
        namesBeforeSwap = rows.map((r) => r.name);
      },
    });
    const watching = (async () => {
      for await (const progress of job.watch()) seen.push(progress);
    })();
    const final = await job.done;
    await watching;
    // More deposits after the swap go into the new table.
    const afterSwap = sent;
    await waitUntil("3 deposits after the swap", () => sent >= afterSwap + 3, {
      timeoutMs: 30_000,
      progress: () => `${sent - afterSwap} deposited`,
    });
    sending = false;
    await traffic;
    await caughtUp();

    expect(final.state).toBe("DONE");
    expect(final.errorCode).toBeNull();
    expect(namesBeforeSwap).toHaveLength(ids.length);
    expect(namesBeforeSwap.every((name) => name === "OLD")).toBe(true);
    await expectViewsMatchTheLog();

    // Progress: replaying reports with growing counts and a rate, then DONE at 100%.
    const replaying = seen.filter((p) => p.state === "REPLAYING" && p.processed > 0);
    expect(replaying.length).toBeGreaterThan(0);
    expect(replaying.every((p) => p.percent >= 0 && p.percent < 100 && p.eventsPerSecond > 0)).toBe(true);
    expect(seen.at(-1)).toMatchObject({ state: "DONE", percent: 100 });
    expect(final.processed).toBeGreaterThanOrEqual(34);
    expect(final.total).toBeGreaterThanOrEqual(34);

    // The swapped-in table is the migrations' table: same indexes, same names.
    const indexes = await t.db.sql.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'account_views' ORDER BY indexname",
    );
    expect(indexes.map((i) => i.indexname)).toEqual(["account_views_pkey", "account_views_tenant_status_idx"]);
    const leftovers = await t.db.sql.query("SELECT 1 FROM pg_tables WHERE schemaname = 'stageline_rebuild'");
    expect(leftovers).toEqual([]);
  });

  it("the live runner goes on after a swap: a later command reaches PROJECTED and shows in the rebuilt table", async () => {
    const job = await t.app.rebuilds.start("banking.TransferView");
    expect((await job.done).state).toBe("DONE");
    const r = await t.app.gateway.sendAndWait(send("Deposit", ids[0]!, { amount: 7 }), { stage: "PROJECTED" });
    expect(r.succeeded).toBe(true);
    await expectViewsMatchTheLog();
  });

  it("refuses a second rebuild of the same projection while one runs", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const job = await t.app.rebuilds.start("AccountView", { beforeSwap: () => held });
    await expect(t.app.rebuilds.start("banking.AccountView")).rejects.toMatchObject({ code: "REBUILD_IN_PROGRESS" });
    release();
    expect((await job.done).state).toBe("DONE");
    await expectViewsMatchTheLog();
  });

  it("names unknown and undeclared projections with typed errors", async () => {
    await expect(t.app.rebuilds.start("NoSuchView")).rejects.toMatchObject({ code: "UNKNOWN_PROJECTION" });
    const Untabled = defineProjection({ name: "Untabled", eventTypes: ["MoneyDeposited"], apply: async () => {} });
    const rebuilds = new ProjectionRebuilds(
      {
        db: t.db,
        events: t.app.events,
        registry: new Registry([banking, defineContext({ name: "extra", aggregates: [], processors: [Untabled] })]),
        checkpoints: t.app.runners.checkpoints,
        deadLetters: t.app.runners.deadLetters,
        logger: (await import("../../src/logger.ts")).logger,
      },
      runner,
    );
    await expect(rebuilds.start("Untabled")).rejects.toMatchObject({ code: "PROJECTION_NOT_REBUILDABLE" });
  });
});
