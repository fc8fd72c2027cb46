/**
 * A wait for a command this process just sent reads nothing from the store: it listens before
 * the command is accepted, and the bus carries every result. A wait on a command this process
 * accepted earlier (a duplicate, `waitFor`, a subscription once the mutation answered) starts from
 * the results the bus kept of it, not from the store. The store poll is set to a minute here, so a
 * store read in these tests can only be a first read.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { CommandNotFound } from "../../src/core/errors.ts";
import { CommandStore } from "../../src/store/command-store.ts";
import { ResultStore } from "../../src/store/result-store.ts";
import { accountCommand, startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

describe.each(engines)("waits for own commands on %s", (engine) => {
  let t: TestApp;
  const reads = () =>
    vi.mocked(ResultStore.prototype.byCommand).mock.calls.length +
    vi.mocked(ResultStore.prototype.byCorrelation).mock.calls.length;

  beforeAll(async () => {
    t = await startTestApp(engine, { waitPollMs: 60_000 });
    await t.app.gateway.sendAndWait(
      accountCommand("CreateAccount", `${engine}-own`, { name: "own", initialBalance: 0 }),
    );
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await t?.stop();
  });

  const spyOnReads = () => {
    vi.spyOn(ResultStore.prototype, "byCommand");
    vi.spyOn(ResultStore.prototype, "byCorrelation");
  };

  it("answers SENT, PROCESSED and a chain wait without reading the store", async () => {
    spyOnReads();
    const deposit = () => accountCommand("Deposit", `${engine}-own`, { amount: 1 });
    const sent = await t.app.gateway.sendAndWait(deposit(), { stage: "SENT" });
    const processed = await t.app.gateway.sendAndWait(deposit(), { stage: "PROCESSED" });
    const chain = await t.app.gateway.sendAndWait(deposit(), { stage: "PROCESSED", chain: true });
    expect([sent, processed, chain].map((r) => [r.stage, r.succeeded])).toEqual([
      ["SENT", true],
      ["PROCESSED", true],
      ["PROCESSED", true],
    ]);
    expect(reads()).toBe(0);
  });

  it("answers a refusal without reading the store", async () => {
    spyOnReads();
    const refused = await t.app.gateway.sendAndWait(accountCommand("Withdraw", `${engine}-own`, { amount: 1_000_000 }));
    expect(refused).toMatchObject({ stage: "PROCESSED", succeeded: false });
    expect(reads()).toBe(0);
  });

  it("answers a duplicate and a command it accepted earlier from the results it kept, without reading the store", async () => {
    const request = { ...accountCommand("Deposit", `${engine}-own`, { amount: 2 }), requestId: `${engine}-dup` };
    const first = await t.app.gateway.sendAndWait(request);
    spyOnReads();
    const again = await t.app.gateway.send(request, { stage: "PROCESSED" });
    expect(again.duplicate).toBe(true);
    const answers = [];
    for await (const r of again.results) answers.push(r);
    expect(answers.at(-1)).toMatchObject({ id: first.id, stage: "PROCESSED", succeeded: true });
    const later = await t.app.gateway.waitFor("default", first.commandId, { stage: "PROCESSED" });
    expect(later.id).toBe(first.id);
    expect(reads()).toBe(0);
  });

  it("checks a subscription to a command it accepted against the tenant without reading the command", async () => {
    const { commandId } = await t.app.gateway.sendAndWait(accountCommand("Deposit", `${engine}-own`, { amount: 3 }));
    const byId = vi.spyOn(CommandStore.prototype, "byId");
    const results = await t.app.gateway.results("default", commandId, { stage: "PROCESSED" });
    const seen = [];
    for await (const r of results) seen.push(r.stage);
    expect(seen).toEqual(["SENT", "PROCESSED"]);
    await expect(t.app.gateway.results("other-tenant", commandId, { stage: "PROCESSED" })).rejects.toBeInstanceOf(
      CommandNotFound,
    );
    expect(byId).not.toHaveBeenCalled();
  });
});
