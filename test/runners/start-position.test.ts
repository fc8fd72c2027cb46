/**
 * Where a processor starts the first time, on both engines: added to a database with history, a
 * saga or an event handler starts at the log's head (it must not react to last month's events),
 * a projection builds from the beginning, `from` overrides either default, and the choice is
 * recorded in the processor's checkpoint row.
 *
 * Catches a new processor starting at the beginning whatever it declares (the defaults removed,
 * or `from` ignored when the checkpoint row is created): the late saga then reacts to history.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { defineContext } from "../../src/core/context.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import { defineEventHandler, defineProjection, defineSaga } from "../../src/core/processors.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { accountCommand } from "../support/app.ts";
import { engines, openTestDatabase, type TestDatabase } from "../support/databases.ts";

const config = {
  ...loadConfig({ NODE_ENV: "test" }),
  port: 0,
  runner: { batchSize: 100, pollMs: 20, maxAttempts: 2, onPoison: "dead-letter" as const },
};

describe.each(engines)("a processor's first start position on %s", (engine) => {
  let db: TestDatabase;
  let app: App;
  const seen = { saga: [] as number[], handler: [] as number[], projection: [] as number[], eager: [] as number[] };
  const amount = (event: RecordedEvent) => (event.data as { amount: number }).amount;
  const late = defineContext({
    name: "late",
    aggregates: [],
    processors: [
      defineSaga({
        name: "LateSaga",
        eventTypes: ["MoneyDeposited"],
        react(event) {
          seen.saga.push(amount(event));
          return [];
        },
      }),
      defineEventHandler({
        name: "LateHandler",
        eventTypes: ["MoneyDeposited"],
        async handle(event) {
          seen.handler.push(amount(event));
        },
      }),
      defineProjection({
        name: "LateView",
        eventTypes: ["MoneyDeposited"],
        async apply(events) {
          seen.projection.push(...events.map(amount));
        },
      }),
      defineSaga({
        name: "EagerSaga",
        from: "beginning",
        eventTypes: ["MoneyDeposited"],
        react(event) {
          seen.eager.push(amount(event));
          return [];
        },
      }),
    ],
  });

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    // Last month: a release without the late context wrote some history.
    const before = await createApp({ config, database: db, contexts: [banking] });
    await before.start();
    await before.gateway.sendAndWait(accountCommand("CreateAccount", "old", { name: "old", initialBalance: 0 }));
    for (const n of [1, 2, 3]) await before.gateway.sendAndWait(accountCommand("Deposit", "old", { amount: n }));
    await before.stop();
    // Today: the late context's processors are deployed.
    app = await createApp({ config, database: db, contexts: [banking, late] });
    await app.start();
  });
  afterAll(async () => {
    await app?.stop();
    await db?.close();
  });

  it("a new saga and handler start at the head; a new projection builds from the beginning; `from` overrides", async () => {
    const r = await app.gateway.sendAndWait(accountCommand("Deposit", "old", { amount: 4 }), { stage: "ALL" });
    expect(r.succeeded).toBe(true);
    expect(seen.saga).toEqual([4]);
    expect(seen.handler).toEqual([4]);
    expect(seen.projection).toEqual([1, 2, 3, 4]);
    expect(seen.eager).toEqual([1, 2, 3, 4]);
    // No command was sent for an old event (this saga sends none at all; the banking saga only
    // reacts to transfers), and the history's deposits have no SAGA_HANDLED signal from it.
    const signals = await db.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM command_results WHERE processor_name = 'LateSaga'",
    );
    expect(signals[0]!.n).toBe(1);
  });

  it("the choice is recorded with the checkpoint, and a restart resumes from the checkpoint", async () => {
    const rows = await db.sql.query<{ processor_name: string; start_from: string }>(
      "SELECT processor_name, start_from FROM processor_checkpoints WHERE processor_name LIKE 'late.%' ORDER BY 1",
    );
    expect(rows).toEqual([
      { processor_name: "late.EagerSaga", start_from: "beginning" },
      { processor_name: "late.LateHandler", start_from: "now" },
      { processor_name: "late.LateSaga", start_from: "now" },
      { processor_name: "late.LateView", start_from: "beginning" },
    ]);
    // Events written while the saga is down are read when it is back: "now" applied only once.
    await app.stop();
    const offline = await createApp({ config, database: db, contexts: [banking] });
    await offline.start();
    await offline.gateway.sendAndWait(accountCommand("Deposit", "old", { amount: 5 }));
    await offline.stop();
    app = await createApp({ config, database: db, contexts: [banking, late] });
    await app.start();
    await app.gateway.sendAndWait(accountCommand("Deposit", "old", { amount: 6 }), { stage: "SAGA_HANDLED" });
    expect(seen.saga).toEqual([4, 5, 6]);
  });

  it("a rewound saga reads the log again from where it was put, not from the head", async () => {
    const runner = app.runners.runner("late.LateSaga")!;
    await runner.stop();
    await app.runners.checkpoints.rewind("late.LateSaga");
    seen.saga.length = 0;
    runner.checkpoint = undefined;
    runner.start();
    await app.gateway.sendAndWait(accountCommand("Deposit", "old", { amount: 7 }), { stage: "SAGA_HANDLED" });
    expect(seen.saga).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
