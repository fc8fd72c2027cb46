/**
 * How appends wake runners: only the runners that read an appended event type wake; wake-ups
 * that arrive together make one read; a read that caught up with what was announced needs no
 * extra query; a read-your-writes wait wakes a projection the append did not. The poll interval
 * is a minute here, so whatever a runner reads in these tests it read because it was woken.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { defineContext } from "../../src/core/context.ts";
import { defineEventHandler, defineProjection } from "../../src/core/processors.ts";
import { banking } from "../../src/domains/banking/index.ts";
import type { Runner } from "../../src/runners/runner.ts";
import type { EventLog } from "../../src/store/event-log.ts";
import { accountCommand, startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";

const slowPoll = { batchSize: 100, pollMs: 60_000, maxAttempts: 2, onPoison: "dead-letter" as const };

const listener = defineEventHandler({ name: "DepositListener", eventTypes: ["MoneyDeposited"], async handle() {} });
const quiet = defineEventHandler({ name: "QuietHandler", eventTypes: ["NeverAppended"], async handle() {} });
const quietView = defineProjection({ name: "QuietView", eventTypes: ["NeverAppended"], async apply() {} });
const testing = defineContext({ name: "waketest", aggregates: [], processors: [listener, quiet, quietView] });

describe.each(engines)("runner wake-ups on %s", (engine) => {
  let t: TestApp;
  /** Reads of the log per runner (each runner reads through its own counting view of the log). */
  const reads = new Map<Runner, number>();
  let eventsAfterQueries = 0;
  const runner = (name: string): Runner => t.app.runners.runners.find((r) => r.step.name === name)!;
  const readsOf = (r: Runner) => reads.get(r) ?? 0;
  /** Asleep until the next poll or wake-up (not reading, not between reads). */
  const idle = (r: Runner) => (r as unknown as { wake?: () => void }).wake !== undefined;

  beforeAll(async () => {
    t = await startTestApp(engine, { runner: slowPoll }, [banking, testing]);
    for (const r of t.app.runners.runners) {
      // Each runner has its own deps object: give it a view of the log that counts its reads.
      const deps = (r as unknown as { deps: { events: EventLog } }).deps;
      const log = deps.events;
      const view = Object.create(log) as EventLog;
      view.readAll = (...args) => {
        reads.set(r, readsOf(r) + 1);
        return log.readAll(...args);
      };
      deps.events = view;
    }
    const hasEventsAfter = t.app.events.hasEventsAfter.bind(t.app.events);
    vi.spyOn(t.app.events, "hasEventsAfter").mockImplementation((after) => {
      eventsAfterQueries++;
      return hasEventsAfter(after);
    });
    await t.app.gateway.sendAndWait(
      accountCommand("CreateAccount", `${engine}-wake`, { name: "wake", initialBalance: 0 }),
      { stage: "PROJECTED" },
    );
    await waitUntil("every runner idle", () => t.app.runners.runners.every(idle), { timeoutMs: 20_000 });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.stop();
  });

  it("wakes only the runners that read an appended event type", async () => {
    const quietRunner = runner("QuietHandler");
    const before = readsOf(quietRunner);
    const answer = await t.app.gateway.sendAndWait(accountCommand("Deposit", `${engine}-wake`, { amount: 5 }), {
      stage: "EVENT_HANDLED",
    });
    expect(answer.succeeded).toBe(true);
    // DepositListener read the deposit (its stage arrived). Once every runner is idle again,
    // whatever the deposit woke has read: QuietHandler never did.
    await waitUntil("every runner idle", () => t.app.runners.runners.every(idle), { timeoutMs: 20_000 });
    expect(readsOf(runner("DepositListener"))).toBeGreaterThan(0);
    expect(readsOf(quietRunner)).toBe(before);
  });

  it("makes one read of wake-ups that arrive together", async () => {
    const listening = runner("DepositListener");
    await waitUntil("DepositListener idle", () => idle(listening), { timeoutMs: 20_000 });
    const before = readsOf(listening);
    // Twenty wake-ups from twenty separate microtasks, as appends finishing together deliver them.
    let chain = Promise.resolve();
    for (let i = 0; i < 20; i++) chain = chain.then(() => listening.notify());
    await chain;
    await waitUntil("DepositListener read and idle again", () => readsOf(listening) > before && idle(listening), {
      timeoutMs: 20_000,
    });
    expect(readsOf(listening)).toBe(before + 1);
  });

  it("asks the store nothing more once a read caught up with the announced events", async () => {
    const listening = runner("DepositListener");
    await waitUntil("DepositListener idle", () => idle(listening), { timeoutMs: 20_000 });
    const queries = eventsAfterQueries;
    await t.app.gateway.sendAndWait(accountCommand("Deposit", `${engine}-wake`, { amount: 6 }), {
      stage: "EVENT_HANDLED",
    });
    await waitUntil("every runner idle", () => t.app.runners.runners.every(idle), { timeoutMs: 20_000 });
    expect(eventsAfterQueries).toBe(queries);
  });

  it("wakes a projection that no append woke when a read-your-writes wait needs it", async () => {
    const answer = await t.app.gateway.sendAndWait(accountCommand("Deposit", `${engine}-wake`, { amount: 7 }), {
      stage: "PROCESSED",
    });
    const position = answer.positions.at(-1)!;
    // QuietView reads none of these events and polls once a minute: only a wake-up passes them in time.
    expect(await t.app.runners.waitForProjections(position, 15_000)).toBe(true);
  });
});
