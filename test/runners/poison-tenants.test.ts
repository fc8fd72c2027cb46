/**
 * RUNNER_ON_POISON=stop isolates tenants, on both engines: a poison event of one tenant holds
 * that tenant's later events for the processor (parked in dead letters, in order, for replay)
 * and never stops another tenant's processing, before or after a restart.
 *
 * Catches the removal of the per-tenant hold (the runner halting on the poison event, as it did
 * for every tenant): tenant beta's deposit then never reaches SAGA_HANDLED.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineContext } from "../../src/core/context.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import { defineSaga } from "../../src/core/processors.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { accountCommand, startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

const SAGA = "isolation.PickySaga";

describe.each(engines)("a poison event under onPoison stop on %s", (engine) => {
  let t: TestApp;
  const reacted: { tenantId: string; amount: number }[] = [];
  const picky = defineSaga({
    name: "PickySaga",
    eventTypes: ["MoneyDeposited"],
    react(event: RecordedEvent) {
      const amount = (event.data as { amount: number }).amount;
      if (amount === 13) throw new Error("poison: unlucky amount");
      reacted.push({ tenantId: event.tenantId, amount });
      return [];
    },
  });
  const isolation = defineContext({ name: "isolation", aggregates: [], processors: [picky] });

  beforeAll(async () => {
    t = await startTestApp(
      engine,
      { runner: { batchSize: 100, pollMs: 20, maxAttempts: 2, onPoison: "stop" }, waitTimeoutMs: 20_000 },
      [banking, isolation],
    );
    for (const tenantId of ["alpha", "beta"]) {
      const created = await t.app.gateway.sendAndWait(
        accountCommand("CreateAccount", "acc", { name: tenantId, initialBalance: 0 }, tenantId),
        { stage: "PROCESSED" },
      );
      expect(created.succeeded).toBe(true);
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  const deposit = (tenantId: string, amount: number) =>
    t.app.gateway.sendAndWait(accountCommand("Deposit", "acc", { amount }, tenantId), { stage: "SAGA_HANDLED" });

  it("holds the poisoned tenant and goes on with the others; the held events are parked, not lost", async () => {
    const poison = await deposit("alpha", 13);
    expect(poison).toMatchObject({ succeeded: false, errorCode: "PROCESSOR_FAILED" });

    // The same tenant's next event is held behind the poison one: parked, its client told so.
    const held = await deposit("alpha", 5);
    expect(held).toMatchObject({ succeeded: false, errorCode: "PROCESSOR_HELD" });

    // Another tenant is not stopped.
    const other = await deposit("beta", 7);
    expect(other).toMatchObject({ succeeded: true, errorCode: "Ok" });
    expect(reacted).toContainEqual({ tenantId: "beta", amount: 7 });
    expect(reacted.filter((r) => r.tenantId === "alpha")).toEqual([]);
    expect(t.app.runners.runner(SAGA)!.state).toBe("running");

    const rows = await t.db.sql.query<{ held_tenants: string[] }>(
      "SELECT held_tenants FROM processor_checkpoints WHERE processor_name = $1",
      [SAGA],
    );
    expect(rows[0]!.held_tenants).toEqual(["alpha"]);
    const letters = await t.app.runners.deadLetters.list(SAGA);
    expect(letters.map((l) => l.position)).toEqual([poison.positions[0], held.positions[0]]);
    expect(letters[0]!.error).toContain("poison: unlucky amount");
    expect(letters[1]!.error).toMatch(/^held: /);
  });

  it("the hold outlives a restart of the runner; releasing the tenant lets its new events through", async () => {
    const runner = t.app.runners.runner(SAGA)!;
    await runner.stop();
    runner.checkpoint = undefined;
    runner.start();
    expect(await deposit("alpha", 6)).toMatchObject({ succeeded: false, errorCode: "PROCESSOR_HELD" });
    expect(await deposit("beta", 8)).toMatchObject({ succeeded: true });

    await t.app.runners.checkpoints.release(SAGA, "alpha");
    await runner.stop();
    runner.checkpoint = undefined;
    runner.start();
    expect(await deposit("alpha", 9)).toMatchObject({ succeeded: true });
    expect(reacted.filter((r) => r.tenantId === "alpha")).toEqual([{ tenantId: "alpha", amount: 9 }]);
    expect((await t.app.runners.deadLetters.list(SAGA)).length).toBe(3);
  });
});
