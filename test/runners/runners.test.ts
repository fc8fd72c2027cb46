/**
 * The runners end to end: stages, chains, compensation, transactional projections, dead
 * letters and restarts, on both engines.
 */
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { defineContext } from "../../src/core/context.ts";
import { CoreCode } from "../../src/core/errors.ts";
import { LOG_START } from "../../src/core/messages.ts";
import { defineEventHandler, defineProjection, defineSaga, type SagaRejection } from "../../src/core/processors.ts";
import { sagaRequestId } from "../../src/core/request-ids.ts";
import { Account, type AccountEvent } from "../../src/domains/banking/account.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { contexts } from "../../src/domains/index.ts";
import type { SendRequest } from "../../src/gateway/gateway.ts";
import type { Prisma } from "../../src/generated/prisma/client.ts";
import { countRows, DEPOSIT, FAST_RUNNER, startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

const send = (type: string, aggregateId: string, input: unknown, extra: Partial<SendRequest> = {}): SendRequest => ({
  aggregateName: "Account",
  type,
  input,
  aggregateId,
  tenantId: "default",
  ...extra,
});

/** The deposit amount that sets ThreeStepSaga off (no other test deposits it). */
const THREE_STEPS = 777;
/** What ThreeStepSaga's onRejected was told, each time it was called (replays included). */
const rejections: SagaRejection[] = [];
/**
 * A reaction of three commands whose second is refused: a deposit on `<id>-a`, a withdrawal
 * from the empty `<id>-b` (INSUFFICIENT_BALANCE), a deposit on `<id>-c` that must never be
 * sent. Its compensation takes back what was accepted.
 */
const ThreeStepSaga = defineSaga<AccountEvent>({
  name: "ThreeStepSaga",
  eventTypes: ["MoneyDeposited"],
  react(event) {
    if ((event.data as { amount: number }).amount !== THREE_STEPS) return [];
    const id = event.aggregateId;
    const deposit = (suffix: string) => ({
      aggregateName: "Account",
      aggregateId: `${id}-${suffix}`,
      type: "Deposit",
      key: suffix,
      data: { amount: 5 },
    });
    return [
      deposit("a"),
      {
        aggregateName: "Account",
        aggregateId: `${id}-b`,
        type: "Withdraw",
        key: "b",
        data: { amount: 1_000 },
        onRejected: (rejection) => {
          rejections.push(rejection);
          return rejection.accepted.map(({ command }) => ({
            aggregateName: "Account",
            aggregateId: command.aggregateId,
            type: "Withdraw",
            key: `undo-${command.key}`,
            data: { amount: 5 },
          }));
        },
      },
      deposit("c"),
    ];
  },
});
const sagaTesting = defineContext({ name: "sagatest", aggregates: [], processors: [ThreeStepSaga] });

describe.each(engines)("runners on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine, { runner: FAST_RUNNER }, [...contexts, sagaTesting]);
  });

  afterAll(async () => {
    await t?.stop();
  });

  /**
   * Opens a source and a target account (`<engine>-s<n>`, `<engine>-t<n>`, with these balances)
   * and returns the request for transfer `<engine>-x<n>` of `amount` from one to the other.
   */
  async function newTransfer(
    n: number,
    { source, target, amount }: { source: number; target: number; amount: number },
  ) {
    await open(`${engine}-s${n}`, source);
    await open(`${engine}-t${n}`, target);
    return send("PrepareTransfer", `${engine}-s${n}`, {
      transferId: `${engine}-x${n}`,
      targetAccountId: `${engine}-t${n}`,
      amount,
    });
  }

  async function open(id: string, balance: number) {
    const r = await t.app.gateway.sendAndWait(send("CreateAccount", id, { name: id, initialBalance: balance }), {
      stage: "ALL",
    });
    expect(r.succeeded).toBe(true);
  }

  it("streams all six stages of a transfer to a graphql-ws subscriber, each after the one it depends on", async () => {
    const { commandId } = await t.app.gateway.send(await newTransfer(1, { source: 100, target: 0, amount: 40 }));
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
    const result = await t.app.gateway.sendAndWait(await newTransfer(2, { source: 100, target: 10, amount: 25 }), {
      stage: "PROJECTED",
      chain: true,
    });
    expect(result.succeeded).toBe(true);
    const chain = await t.app.gateway.resultsSoFar("default", result.correlationId);
    expect(chain.length).toBeGreaterThan(0);
    // Right after the chain wait, without waiting more, the read models show the whole transfer.
    const source = await t.db.prisma.accountView.findUnique({ where: { key: `default:${engine}-s2` } });
    const target = await t.db.prisma.accountView.findUnique({ where: { key: `default:${engine}-t2` } });
    const transfer = await t.db.prisma.transferView.findFirst({ where: { tenantId: "default", id: `${engine}-x2` } });
    expect(source).toMatchObject({ balance: 75, locked: 0 });
    expect(target).toMatchObject({ balance: 35 });
    expect(transfer).toMatchObject({ status: "COMPLETED" });
  });

  it("compensation: a frozen target makes the saga unlock the source; the chain's answer is about the command sent and names the refused child", async () => {
    await open(`${engine}-s3`, 50);
    await open(`${engine}-t3`, 0);
    await t.app.gateway.sendAndWait(send("FreezeAccount", `${engine}-t3`, {}), { stage: "PROCESSED" });
    // The case: a chain wait answered with whichever result came last, at times the
    // refused ReceiveTransfer (another commandId, the target's aggregate). Catches an answer
    // taken from the stream's last result (lastOf) instead of the command sent (verified).
    const { json } = await t.post({
      query: `mutation($input: PrepareTransferInput!, $command: CommandOptions) {
        prepareTransfer(input: $input, command: $command) {
          commandId aggregateId aggregateVersion stage succeeded errorCode
          chainFailures { commandId aggregateName aggregateId stage succeeded errorCode }
        }
      }`,
      variables: {
        input: { transferId: `${engine}-x3`, targetAccountId: `${engine}-t3`, amount: 20 },
        command: { aggregateId: `${engine}-s3`, waitFor: { stage: "PROJECTED", chain: true } },
      },
    });
    const answer = json.data?.prepareTransfer as {
      commandId: string;
      chainFailures: { commandId: string; aggregateId: string; errorCode: string }[];
    };
    expect(json.errors).toBeUndefined();
    expect(answer).toMatchObject({
      aggregateId: `${engine}-s3`,
      aggregateVersion: 2,
      stage: "PROJECTED",
      succeeded: false,
      errorCode: CoreCode.CHAIN_FAILED,
      chainFailures: [
        {
          aggregateName: "Account",
          aggregateId: `${engine}-t3`,
          stage: "PROCESSED",
          succeeded: false,
          errorCode: "ACCOUNT_FROZEN",
        },
      ],
    });
    const sent = await t.app.gateway.command("default", answer.commandId);
    expect(sent).toMatchObject({ type: "PrepareTransfer", aggregateId: `${engine}-s3` });
    const refused = await t.app.gateway.command("default", answer.chainFailures[0]!.commandId);
    expect(refused).toMatchObject({ type: "ReceiveTransfer", correlationId: answer.commandId });
    // The chain's stream still carries every command's results, the refusal among them.
    const stream = await t.app.gateway.results("default", answer.commandId, { stage: "PROJECTED", chain: true });
    const commandsSeen = new Set<string>();
    for await (const r of stream) commandsSeen.add(r.commandId);
    expect(commandsSeen).toContain(refused.commandId);
    expect(commandsSeen.size).toBe(3);

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

  it("a saga's reaction stops at a refusal: a accepted, b refused, c never sent; onRejected learns all three", async () => {
    const root = `${engine}-r`;
    for (const id of [root, `${root}-a`, `${root}-b`, `${root}-c`]) await open(id, 0);
    const answer = await t.app.gateway.sendAndWait(send("Deposit", root, { amount: THREE_STEPS }), {
      stage: "SAGA_HANDLED",
      chain: true,
    });
    expect(answer).toMatchObject({ aggregateId: root, succeeded: false, errorCode: CoreCode.CHAIN_FAILED });
    expect(answer.chainFailures?.map((f) => [f.aggregateId, f.errorCode])).toEqual([
      [`${root}-b`, "INSUFFICIENT_BALANCE"],
    ]);
    // c was never sent. Catches a saga that goes on sending after a refusal (verified).
    const commandsOf = async (id: string) =>
      (
        await t.db.sql.query<{ type: string; command_id: string }>(
          "SELECT type, command_id FROM commands WHERE aggregate_id = $1 ORDER BY created_at, command_id",
          [id],
        )
      ).map((c) => ({ type: c.type, commandId: c.command_id }));
    expect((await commandsOf(`${root}-c`)).map((c) => c.type)).toEqual(["CreateAccount"]);
    // onRejected learned what was accepted (with its command ID), what was refused, what was not sent.
    const [deposit, undo] = (await commandsOf(`${root}-a`)).slice(1);
    const [withdrawal] = (await commandsOf(`${root}-b`)).slice(1);
    const told = rejections.filter((r) => r.refused.command.aggregateId === `${root}-b`);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({
      errorCode: "INSUFFICIENT_BALANCE",
      refused: { commandId: withdrawal!.commandId, command: { type: "Withdraw" } },
      accepted: [{ commandId: deposit!.commandId, command: { aggregateId: `${root}-a`, type: "Deposit" } }],
      notSent: [{ aggregateId: `${root}-c`, type: "Deposit" }],
    });
    // The compensation took back what was accepted.
    expect(undo?.type).toBe("Withdraw");
    const stream = { tenantId: "default", aggregateName: "Account" };
    expect((await t.app.aggregates.load(Account, { ...stream, aggregateId: `${root}-a` })).state).toMatchObject({
      balance: 0,
    });
    expect((await t.app.aggregates.load(Account, { ...stream, aggregateId: `${root}-c` })).state).toMatchObject({
      balance: 0,
    });
    // The saga's own signal reports the refusal and what it left unsent.
    const signal = (await t.app.gateway.resultsSoFar("default", answer.commandId)).find(
      (r) => r.scope === "PROCESSOR" && r.function.processorName === "ThreeStepSaga",
    );
    expect(signal?.result).toMatchObject({
      commandIds: [deposit!.commandId, withdrawal!.commandId, undo!.commandId],
      refused: [withdrawal!.commandId],
      notSent: [{ aggregateName: "Account", aggregateId: `${root}-c`, type: "Deposit", key: "c" }],
    });
  });

  it("a client cannot take a saga's request ID first: the reserved form is refused, and the transfer completes", async () => {
    const [source, target] = [`${engine}-s5`, `${engine}-t5`];
    await open(source, 100);
    await open(target, 0);
    const saga = t.app.runners.runner("banking.TransferSaga")!;
    // Hold the saga back, so the client's commands are stored before the saga sends its own.
    await saga.stop();
    let prepared: Awaited<ReturnType<typeof t.app.gateway.sendAndWait>>;
    try {
      prepared = await t.app.gateway.sendAndWait(
        send("PrepareTransfer", source, { transferId: `${engine}-x5`, targetAccountId: target, amount: 30 }),
        { stage: "PROCESSED" },
      );
      expect(prepared.succeeded).toBe(true);
      const position = prepared.positions[0]!;
      const deposit = (requestId: string) =>
        t.post({ query: DEPOSIT, variables: { amount: 1, command: { aggregateId: target, requestId } } });
      // The request ID the saga will use for its entry on the target: refused, nothing stored.
      // Catches (both verified) dropping the gateway's refusal of the reserved form, and saga
      // request IDs back in the clients' namespace (sagaRequestId without its prefix).
      const commandsBefore = await countRows(t, "commands");
      const reserved = await deposit(sagaRequestId("banking.TransferSaga", position, "entry"));
      expect(reserved.json.errors?.[0]?.extensions).toMatchObject({
        code: "VALIDATION_FAILED",
        bindingErrors: [{ field: "command.requestId", code: "reserved" }],
      });
      expect(await countRows(t, "commands")).toBe(commandsBefore);
      // The form saga request IDs had before (the attack): an ordinary client key now,
      // which the saga's command below no longer collides with.
      const former = await deposit(`saga:banking.TransferSaga:${position}:entry`);
      expect(former.json.errors).toBeUndefined();
    } finally {
      saga.start();
    }
    const done = await t.app.gateway.waitFor("default", prepared.commandId, { stage: "PROJECTED", chain: true });
    expect(done).toMatchObject({ commandId: prepared.commandId, succeeded: true, chainFailures: [] });
    expect(
      await t.db.prisma.transferView.findFirst({ where: { tenantId: "default", id: `${engine}-x5` } }),
    ).toMatchObject({
      status: "COMPLETED",
    });
    expect(await t.db.prisma.accountView.findUnique({ where: { key: `default:${source}` } })).toMatchObject({
      balance: 70,
      locked: 0,
    });
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

  // Last in this block: it replays every saga over everything the tests above did, and over its
  // own transfer and reaction cut short by a refusal (so it also holds when run alone).
  it("a replayed saga never sends twice: run again from the log's start, it stores no command and moves no money", async () => {
    // Catches saga request IDs that are not derived from (saga, event, key) — e.g. random ones
    // (verified: the replay then stores the saga's commands again).
    const transfer = await t.app.gateway.sendAndWait(await newTransfer(9, { source: 60, target: 0, amount: 15 }), {
      stage: "SAGA_HANDLED",
      chain: true,
    });
    expect(transfer.succeeded).toBe(true);
    const root = `${engine}-r9`;
    for (const id of [root, `${root}-a`, `${root}-b`, `${root}-c`]) await open(id, 0);
    await t.app.gateway.sendAndWait(send("Deposit", root, { amount: THREE_STEPS }), {
      stage: "SAGA_HANDLED",
      chain: true,
    });

    const sagas = t.app.runners.runners.filter((r) => r.step.kind === "SAGA");
    expect(sagas.map((r) => r.step.id).sort()).toEqual([
      "banking.TransferSaga",
      "inventory.HoldSaga",
      "sagatest.ThreeStepSaga",
    ]);
    for (const saga of sagas) await saga.stop();
    const balances = async () => {
      const ids = await t.db.sql.query<{ aggregate_id: string }>(
        "SELECT DISTINCT aggregate_id FROM events WHERE aggregate_name = 'Account' ORDER BY aggregate_id",
      );
      const states = [];
      for (const { aggregate_id: aggregateId } of ids) {
        const { state, version } = await t.app.aggregates.load(Account, {
          tenantId: "default",
          aggregateName: "Account",
          aggregateId,
        });
        const { balance, locked } = state as { balance: number; locked: number };
        states.push({ aggregateId, version, balance, locked });
      }
      return states;
    };
    const before = {
      commands: await countRows(t, "commands"),
      events: await countRows(t, "events"),
      balances: await balances(),
      rejections: rejections.length,
    };
    const head = BigInt(
      (await t.db.sql.query<{ head: string }>("SELECT max(position)::text AS head FROM events"))[0]!.head,
    );

    for (const saga of sagas) await t.app.runners.checkpoints.save(t.db.sql, saga.step.id, LOG_START);
    for (const saga of sagas) saga.start();
    await vi.waitFor(
      () => {
        for (const saga of sagas) expect(saga.checkpoint?.position ?? 0n).toBeGreaterThanOrEqual(head);
      },
      { timeout: 30_000, interval: 50 },
    );

    // It did replay: the reaction cut short by a refusal ran again, up to its onRejected.
    expect(rejections.length).toBeGreaterThan(before.rejections);
    expect(await countRows(t, "commands")).toBe(before.commands);
    expect(await countRows(t, "events")).toBe(before.events);
    expect(await balances()).toEqual(before.balances);
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
  // A saga bug: two commands of one reaction with one key would share a request ID, and the
  // second would be taken for a replay of the first and quietly never happen.
  const twinKeys = defineSaga<AccountEvent>({
    name: "TwinKeys",
    eventTypes: ["MoneyDeposited"],
    react: (event) =>
      (event.data as { amount: number }).amount === 4242
        ? ["first", "second"].map(() => ({
            aggregateName: "Account",
            aggregateId: event.aggregateId,
            type: "Deposit",
            key: "same",
            data: { amount: 1 },
          }))
        : [],
  });
  const testing = defineContext({ name: "testing", aggregates: [], processors: [flaky, counter, twinKeys] });

  beforeAll(async () => {
    t = await startTestApp(engine, { runner: FAST_RUNNER }, [banking, testing]);
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
    expect(poison.errorCode).toBe("PROCESSOR_FAILED");
    expect(poison.errorMsg).not.toContain("unlucky amount"); // the detail stays in the log and the dead letter
    const letters = await t.app.runners.deadLetters.list("testing.FlakyView");
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ eventType: "MoneyDeposited", position: poison.positions[0] });
    expect(letters[0]!.error).toContain("poison: unlucky amount");
    const after = await t.app.gateway.sendAndWait(send("Deposit", `${engine}-f1`, { amount: 6 }), {
      stage: "PROJECTED",
    });
    expect(after.succeeded).toBe(true);
  });

  it("a saga reaction with two commands of one key sends neither and parks the event", async () => {
    await t.app.gateway.sendAndWait(send("CreateAccount", `${engine}-twins`, { name: "t", initialBalance: 0 }), {
      stage: "PROCESSED",
    });
    const answer = await t.app.gateway.sendAndWait(send("Deposit", `${engine}-twins`, { amount: 4242 }), {
      stage: "SAGA_HANDLED",
    });
    expect(answer).toMatchObject({ succeeded: false, errorCode: "PROCESSOR_FAILED" });
    const letters = await t.app.runners.deadLetters.list("testing.TwinKeys");
    expect(letters.map((l) => l.error)).toEqual([expect.stringContaining('key "same"')]);
    const deposits = await t.db.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM commands WHERE aggregate_id = $1 AND type = 'Deposit'",
      [`${engine}-twins`],
    );
    expect(deposits[0]!.n).toBe(1);
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
