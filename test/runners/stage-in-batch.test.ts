/**
 * A stage that one processor completes alone (the only processor of its kind reading the
 * command's events) is stored by a live runner's batch statement (a runner at the head, not one
 * catching up), in the batch's transaction, not by the stage tracker afterwards (issue 12, item 4: one statement for a batch's results; and a
 * crash between the batch's commit and the tracker can no longer lose the stage).
 *
 * The tracker is switched off here: a deposit (read only by AccountView among projections) must
 * still reach PROJECTED, with its STAGE row committed together with the PROCESSOR signal.
 * Catches the removal of the stage from the batch statement (`toStore` returning only the
 * signals): the deposit then never reaches PROJECTED and the wait times out.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { App } from "../../src/app.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { StageTracker } from "../../src/runners/stage-tracker.ts";
import { accountCommand, createRunnerApp } from "../support/app.ts";
import { engines, openTestDatabase, type TestDatabase } from "../support/databases.ts";

describe.each(engines)("stages stored with the batch on %s", (engine) => {
  let db: TestDatabase;
  let app: App;

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    app = await createRunnerApp(db, [banking]);
    await app.start();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.stop();
    await db?.close();
  });

  it("a deposit reaches PROJECTED without the tracker; its stage row commits with the signal", async () => {
    await app.gateway.sendAndWait(accountCommand("CreateAccount", "alone", { name: "a", initialBalance: 0 }), {
      stage: "PROJECTED",
    });
    const tracked = vi.spyOn(StageTracker.prototype, "onSignals").mockResolvedValue(undefined);
    const r = await app.gateway.sendAndWait(accountCommand("Deposit", "alone", { amount: 4 }), {
      stage: "PROJECTED",
      timeoutMs: 20_000,
    });
    expect(r).toMatchObject({ stage: "PROJECTED", succeeded: true, errorCode: "Ok" });
    const rows = await db.sql.query<{ stage: string; scope: string; processor_name: string; xmin: string }>(
      `SELECT stage, scope, processor_name, xmin::text AS xmin FROM command_results
        WHERE command_id = $1 AND stage = 'PROJECTED' ORDER BY id`,
      [r.commandId],
    );
    expect(rows.map((row) => [row.scope, row.processor_name])).toEqual([
      ["PROCESSOR", "AccountView"],
      ["STAGE", ""],
    ]);
    // One transaction wrote both.
    expect(rows[0]!.xmin).toBe(rows[1]!.xmin);
    // The tracker was not needed for this stage.
    const forDeposit = tracked.mock.calls.flatMap(([signals]) =>
      signals.filter((s) => s.signal.commandId === r.commandId),
    );
    expect(forDeposit).toEqual([]);
  });
});
