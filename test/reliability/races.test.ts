/**
 * Races: many clients at once on one idempotency key, one account, and two accounts sending
 * to each other. On PostgreSQL also through two gateways (two "processes") sharing the
 * database, where only the optimistic version check keeps the stream consistent.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { OK } from "../../src/core/stages.ts";
import { openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { loadTestConfig } from "../support/app.ts";
import { engines, openTestDatabase, type TestDatabase } from "../support/databases.ts";

const config = { ...loadTestConfig(), port: 0 };
const tenantId = "races";
const account = (app: App, type: string, aggregateId: string | undefined, input: unknown, requestId?: string) =>
  app.gateway.sendAndWait({ tenantId, aggregateName: "Account", type, aggregateId, input, requestId });

async function openAccount(app: App, id: string, initialBalance: number) {
  const result = await account(app, "CreateAccount", id, { name: id, initialBalance });
  expect(result.errorCode).toBe(OK);
}

async function balance(app: App, id: string) {
  const { state } = await app.aggregates.load(app.registry.aggregate("Account")!.aggregate, {
    tenantId,
    aggregateName: "Account",
    aggregateId: id,
  });
  return state as { balance: number; locked: number };
}

describe.each(engines)("races on %s", (engine) => {
  let db: TestDatabase;
  let app: App;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    app = await createApp({ config, database: db });
    await app.runners.start();
  });
  afterAll(async () => {
    await app?.stop();
    await db?.close();
  });

  it("50 concurrent sends of one requestId are processed once and all answer the same command", async () => {
    await openAccount(app, "idem", 0);
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => account(app, "Deposit", "idem", { amount: 7 }, "one-request")),
    );
    expect(new Set(outcomes.map((o) => o.commandId)).size).toBe(1);
    expect(outcomes.every((o) => o.errorCode === OK)).toBe(true);
    expect((await balance(app, "idem")).balance).toBe(7);
    const stored = await db.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM events WHERE aggregate_id = 'idem' AND type = 'MoneyDeposited'",
    );
    expect(stored[0]!.n).toBe(1);
  });

  it("200 concurrent deposits on one account give the exact balance", async () => {
    await openAccount(app, "hot", 0);
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => account(app, "Deposit", "hot", { amount: i + 1 })),
    );
    expect(outcomes.filter((o) => o.errorCode !== OK)).toEqual([]);
    expect((await balance(app, "hot")).balance).toBe((200 * 201) / 2);
    await vi.waitFor(
      async () => {
        const view = await db.prisma.accountView.findUnique({ where: { key: `${tenantId}:hot` } });
        expect(view).toMatchObject({ version: 201, balance: (200 * 201) / 2 });
      },
      { timeout: 20_000, interval: 50 },
    );
  });

  it("transfers in both directions between two accounts never deadlock and conserve money", async () => {
    await openAccount(app, "left", 10_000);
    await openAccount(app, "right", 10_000);
    const sends = Array.from({ length: 60 }, (_, i) => {
      const [from, to] = i % 2 === 0 ? ["left", "right"] : ["right", "left"];
      return account(app, "PrepareTransfer", from, { transferId: `x-${i}`, targetAccountId: to, amount: 100 + i });
    });
    const outcomes = await Promise.all(sends);
    expect(outcomes.filter((o) => o.errorCode !== OK)).toEqual([]);
    await vi.waitFor(
      async () => {
        const rows = await db.prisma.transferView.findMany({ where: { tenantId, id: { startsWith: "x-" } } });
        expect(rows.map((r) => r.status)).toEqual(Array(60).fill("COMPLETED"));
      },
      { timeout: 30_000, interval: 100 },
    );
    const [left, right] = [await balance(app, "left"), await balance(app, "right")];
    expect(left.balance + right.balance).toBe(20_000);
    expect([left.locked, right.locked]).toEqual([0, 0]);
    // 30 transfers each way: left sent 100,102,…,158 and received 101,103,…,159.
    expect(left.balance).toBe(10_000 + 30);
  });
});

describe("races through two gateways sharing one PostgreSQL", () => {
  let db: TestDatabase;
  let apps: App[] = [];
  beforeAll(async () => {
    db = await openTestDatabase("postgres");
    // Each app gets its own pool, as two processes would.
    for (let i = 0; i < 2; i++) {
      const own = await openDatabase(parseDatabaseUrl(db.url!, ""), { poolSize: 20 });
      apps.push(await createApp({ config, database: own }));
    }
  });
  afterAll(async () => {
    for (const app of apps) {
      await app.stop();
      await app.db.close();
    }
    apps = [];
    await db?.close();
  });

  it("200 concurrent deposits split across both give the exact balance", async () => {
    await openAccount(apps[0]!, "shared", 0);
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => account(apps[i % 2]!, "Deposit", "shared", { amount: i + 1 })),
    );
    expect(outcomes.filter((o) => o.errorCode !== OK)).toEqual([]);
    expect((await balance(apps[1]!, "shared")).balance).toBe((200 * 201) / 2);
  });

  it("one requestId sent through both is processed once", async () => {
    await openAccount(apps[0]!, "shared-idem", 0);
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => account(apps[i % 2]!, "Deposit", "shared-idem", { amount: 5 }, "r-1")),
    );
    expect(new Set(outcomes.map((o) => o.commandId)).size).toBe(1);
    expect((await balance(apps[0]!, "shared-idem")).balance).toBe(5);
  });
});
