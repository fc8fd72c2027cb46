/**
 * The runners end to end: stages, chains, compensation, transactional projections, dead
 * letters and restarts, on both engines.
 */
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { defineContext } from "../../src/core/context.ts";
import { defineEventHandler, defineProjection } from "../../src/core/processors.ts";
import { Account } from "../../src/domains/banking/account.ts";
import { banking } from "../../src/domains/banking/index.ts";
import type { SendRequest } from "../../src/gateway/gateway.ts";
import type { Prisma } from "../../src/generated/prisma/client.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

const fastRunners = { batchSize: 100, pollMs: 50, maxAttempts: 2, onPoison: "dead-letter" as const };
const send = (type: string, aggregateId: string, input: unknown, extra: Partial<SendRequest> = {}): SendRequest => ({
  aggregateName: "Account",
  type,
  input,
  aggregateId,
  tenantId: "default",
  ...extra,
});

describe.each(engines)("runners on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine, { runner: fastRunners });
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function open(id: string, balance: number) {
    const r = await t.app.gateway.sendAndWait(send("CreateAccount", id, { name: id, initialBalance: balance }), {
      stage: "ALL",
    });
    expect(r.succeeded).toBe(true);
  }

  it("streams all six stages of a transfer to a graphql-ws subscriber, each after the one it depends on", async () => {
    await open(`${engine}-s1`, 100);
    await open(`${engine}-t1`, 0);
    const { commandId } = await t.app.gateway.send(
      send("PrepareTransfer", `${engine}-s1`, {
        transferId: `${engine}-x1`,
        targetAccountId: `${engine}-t1`,
        amount: 40,
      }),
    );
    const client = createClient({ url: t.wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
    const stages: { stage: string; scope: string; succeeded: boolean }[] = [];
    await new Promise<void>((resolve, reject) => {
      client.subscribe<{ commandResults: { stage: string; scope: string; succeeded: boolean } }>(
        {
          query: `subscription($id: ID!) { commandResults(commandId: $id) { stage scope succeeded } }`,
          variables: { id: commandId },
        },
        { next: (m) => m.data && stages.push(m.data.commandResults), error: reject, complete: resolve },
      );
    });
    await client.dispose();
    const stageOnly = stages.filter((s) => s.scope === "STAGE").map((s) => s.stage);
    expect(new Set(stageOnly)).toEqual(
      new Set(["SENT", "PROCESSED", "SNAPSHOT", "PROJECTED", "EVENT_HANDLED", "SAGA_HANDLED"]),
    );
    expect(stageOnly.slice(0, 2)).toEqual(["SENT", "PROCESSED"]);
    expect(stages.every((s) => s.succeeded)).toBe(true);
    // Per-processor signals come along, and never before PROCESSED.
    const processedAt = stages.findIndex((s) => s.stage === "PROCESSED");
    expect(stages.findIndex((s) => s.scope === "PROCESSOR")).toBeGreaterThan(processedAt);
  });

  it("a chain wait returns only when the target's entry reached the tail stage; the money moved", async () => {
    await open(`${engine}-s2`, 100);
    await open(`${engine}-t2`, 10);
    const result = await t.app.gateway.sendAndWait(
      send("PrepareTransfer", `${engine}-s2`, {
        transferId: `${engine}-x2`,
        targetAccountId: `${engine}-t2`,
        amount: 25,
      }),
      { stage: "PROJECTED", chain: true },
    );
    expect(result.succeeded).toBe(true);
    const chain = await t.app.gateway.resultsSoFar("default", result.waitCommandId);
    expect(chain.length).toBeGreaterThan(0);
    // Right after the chain wait, without waiting more, the read models show the whole transfer.
    const source = await t.db.prisma.accountView.findUnique({ where: { key: `default:${engine}-s2` } });
    const target = await t.db.prisma.accountView.findUnique({ where: { key: `default:${engine}-t2` } });
    const transfer = await t.db.prisma.transferView.findFirst({ where: { tenantId: "default", id: `${engine}-x2` } });
    expect(source).toMatchObject({ balance: 75, locked: 0 });
    expect(target).toMatchObject({ balance: 35 });
    expect(transfer).toMatchObject({ status: "COMPLETED" });
  });

  it("compensation: a frozen target makes the saga unlock the source", async () => {
    await open(`${engine}-s3`, 50);
    await open(`${engine}-t3`, 0);
    await t.app.gateway.sendAndWait(send("FreezeAccount", `${engine}-t3`, {}), { stage: "PROCESSED" });
    const result = await t.app.gateway.sendAndWait(
      send("PrepareTransfer", `${engine}-s3`, {
        transferId: `${engine}-x3`,
        targetAccountId: `${engine}-t3`,
        amount: 20,
      }),
      { stage: "PROJECTED", chain: true },
    );
    expect(result.succeeded).toBe(true);
    expect(await t.db.prisma.accountView.findUnique({ where: { key: `default:${engine}-s3` } })).toMatchObject({
      balance: 50,
      locked: 0,
    });
    expect(
      await t.db.prisma.transferView.findFirst({ where: { tenantId: "default", id: `${engine}-x3` } }),
    ).toMatchObject({
      status: "FAILED",
      reason: "ACCOUNT_FROZEN",
    });
    const state = await t.app.gateway.sendAndWait(send("Withdraw", `${engine}-s3`, { amount: 50 }), {
      stage: "PROCESSED",
    });
    expect(state.succeeded).toBe(true);
  });

  it("a replayed saga never sends twice: its request IDs are derived from the event", async () => {
    const rows = await t.db.sql.query<{ request_id: string; n: number }>(
      `SELECT request_id, count(*)::int AS n FROM commands WHERE request_id LIKE 'saga:%' GROUP BY request_id HAVING count(*) > 1`,
    );
    expect(rows).toEqual([]);
    const sagaCommands = await t.db.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM commands WHERE request_id LIKE 'saga:%'`,
    );
    expect(sagaCommands[0]!.n).toBeGreaterThanOrEqual(4);
  });

  it("aggregates load from the latest snapshot plus later events", async () => {
    await open(`${engine}-snap`, 7);
    const r = await t.app.gateway.sendAndWait(send("Deposit", `${engine}-snap`, { amount: 3 }), { stage: "SNAPSHOT" });
    expect(r.succeeded).toBe(true);
    const snap = await t.db.sql.query<{ version: number; state: { balance: number } }>(
      `SELECT version, state FROM snapshots WHERE aggregate_id = $1`,
      [`${engine}-snap`],
    );
    expect(snap[0]).toMatchObject({ version: 2, state: { balance: 10 } });
    // Tamper with the snapshot: loading must trust it (proving it is used), then add later events.
    await t.db.sql.query(`UPDATE snapshots SET state = jsonb_set(state, '{balance}', '1000') WHERE aggregate_id = $1`, [
      `${engine}-snap`,
    ]);
    const stream = { tenantId: "default", aggregateName: "Account", aggregateId: `${engine}-snap` };
    expect(await t.app.aggregates.load(Account, stream)).toMatchObject({ version: 2, state: { balance: 1000 } });
  });
});

describe.each(engines)("runner failures on %s", (engine) => {
  let t: TestApp;
  let failNext = 0;
  const handled: bigint[] = [];
  const flaky = defineProjection<Prisma.TransactionClient>({
    name: "FlakyView",
    eventTypes: ["MoneyDeposited"],
    async apply(events, tx) {
      for (const event of events) {
        // Writes a row, then (sometimes) fails: the rows of this batch must roll back.
        await tx.accountView.create({
          data: {
            key: `flaky:${event.position}`,
            tenantId: "flaky",
            id: String(event.position),
            name: "x",
            balance: 0,
            status: "ACTIVE",
            version: 1,
            updatedAt: new Date(),
          },
        });
        if ((event.data as { amount: number }).amount === 13) throw new Error("poison: unlucky amount");
        if (failNext > 0) {
          failNext--;
          throw new Error("transient failure");
        }
      }
    },
  });
  const counter = defineEventHandler({
    name: "Counter",
    eventTypes: ["MoneyDeposited"],
    async handle(event) {
      handled.push(event.position);
    },
  });
  const testing = defineContext({ name: "testing", aggregates: [], processors: [flaky, counter] });

  beforeAll(async () => {
    t = await startTestApp(engine, { runner: fastRunners }, [banking, testing]);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const flakyRows = async () =>
    (await t.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM account_views WHERE tenant_id = 'flaky'`))[0]!
      .n;

  it("a projection that throws after writing half a batch leaves no partial rows, and succeeds on retry", async () => {
    await t.app.gateway.sendAndWait(send("CreateAccount", `${engine}-f1`, { name: "f", initialBalance: 0 }), {
      stage: "ALL",
    });
    const before = await flakyRows();
    failNext = 1;
    const r = await t.app.gateway.sendAndWait(send("Deposit", `${engine}-f1`, { amount: 5 }), { stage: "PROJECTED" });
    expect(r.succeeded).toBe(true);
    expect(await flakyRows()).toBe(before + 1);
    expect(failNext).toBe(0);
  });

  it("a poison event ends in the dead-letter table with its error, and the runner moves on", async () => {
    const poison = await t.app.gateway.sendAndWait(send("Deposit", `${engine}-f1`, { amount: 13 }), {
      stage: "PROJECTED",
    });
    expect(poison.succeeded).toBe(false);
    expect(poison.errorMsg).toContain("poison");
    const letters = await t.app.runners.deadLetters.list("testing.FlakyView");
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ eventType: "MoneyDeposited", position: poison.positions[0] });
    expect(letters[0]!.error).toContain("poison: unlucky amount");
    const after = await t.app.gateway.sendAndWait(send("Deposit", `${engine}-f1`, { amount: 6 }), {
      stage: "PROJECTED",
    });
    expect(after.succeeded).toBe(true);
  });

  it("a runner stopped and started again applies nothing twice", async () => {
    const runner = t.app.runners.runner("testing.FlakyView")!;
    await runner.stop();
    const rowsBefore = await flakyRows();
    await t.app.gateway.sendAndWait(send("Deposit", `${engine}-f1`, { amount: 2 }), { stage: "PROCESSED" });
    // A fresh runner for the same processor resumes from the stored checkpoint.
    runner.checkpoint = undefined;
    runner.start();
    const r = await t.app.gateway.sendAndWait(send("Deposit", `${engine}-f1`, { amount: 3 }), { stage: "PROJECTED" });
    expect(r.succeeded).toBe(true);
    expect(await flakyRows()).toBe(rowsBefore + 2);
    const positions = await t.db.sql.query<{ id: string }>(`SELECT id FROM account_views WHERE tenant_id = 'flaky'`);
    expect(new Set(positions.map((p) => p.id)).size).toBe(positions.length);
    // The handler saw every deposit (at-least-once), the poison one too.
    expect(new Set(handled).size).toBeGreaterThanOrEqual(4);
  });
});
