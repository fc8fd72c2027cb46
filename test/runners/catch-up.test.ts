/**
 * How a runner catches up with a log it is behind on, and how it follows one a transaction
 * holds back (issue 12, item 4):
 * - behind: its batches grow (doubling while reads come back full, up to 10× the configured
 *   size) and shrink back to the configured size once it has caught up;
 * - the AccountView projection folds a batch per account and writes each row once: the rows
 *   equal what applying the events one by one gives, also for accounts that span batches;
 * - held back by the xmin horizon (a short read although events lie past the checkpoint), it
 *   reads again within milliseconds instead of at the next poll.
 *
 * Removals verified to fail here: no growth (batches stay at 10), no shrink (the limit stays at
 * 100 after catching up), no delete of the replaced rows in AccountView (the insert collides,
 * the rows go wrong), and no quick re-read (the held-back deposit waits for the 60 s poll).
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { rowKey } from "../../src/core/row-key.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { MAX_BATCH_GROWTH } from "../../src/runners/runner.ts";
import { accountCommand, createRunnerApp } from "../support/app.ts";
import { engines, useTestDatabase } from "../support/databases.ts";

const ACCOUNT_VIEW = "banking.AccountView";
const BATCH = 10;
const ACCOUNTS = 12;
const ROUNDS = 50;

async function waitFor(condition: () => boolean | Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error("condition not met before the deadline");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One account's events, round `r` (0: created); amounts vary so that every event shows in the sums. */
function eventOf(account: number, round: number, transfers: number): { type: string; body: unknown } {
  if (round === 0) return { type: "AccountCreated", body: { name: `holder ${account}`, initialBalance: 1_000 } };
  const amount = account + round;
  switch (round % 6) {
    case 1:
      return { type: "MoneyDeposited", body: { amount } };
    case 2:
      return { type: "MoneyWithdrawn", body: { amount: 1 } };
    case 3:
      return {
        type: "TransferPrepared",
        body: { transferId: `t${account}-${transfers}`, targetAccountId: "elsewhere", amount: 7 },
      };
    case 4:
      return round % 12 === 4
        ? { type: "TransferConfirmed", body: { transferId: `t${account}-${transfers}`, amount: 7 } }
        : { type: "TransferUnlocked", body: { transferId: `t${account}-${transfers}`, amount: 7, reason: "X" } };
    case 5:
      return round % 12 === 5
        ? { type: "AccountFrozen", body: { reason: "test" } }
        : { type: "AccountUnfrozen", body: {} };
    default:
      return { type: "TransferReceived", body: { transferId: `in-${round}`, sourceAccountId: "elsewhere", amount: 2 } };
  }
}

/** What applying every event of one account one by one gives. */
function expectedRow(account: number) {
  let balance = 0;
  let locked = 0;
  let status = "ACTIVE";
  for (let round = 0; round < ROUNDS; round++) {
    const { type, body } = eventOf(account, round, 0);
    const amount = (body as { amount?: number; initialBalance?: number }).amount ?? 0;
    if (type === "AccountCreated") balance = 1_000;
    else if (type === "MoneyDeposited" || type === "TransferReceived") balance += amount;
    else if (type === "MoneyWithdrawn") balance -= amount;
    else if (type === "TransferPrepared") locked += amount;
    else if (type === "TransferConfirmed") {
      balance -= amount;
      locked -= amount;
    } else if (type === "TransferUnlocked") locked -= amount;
    else if (type === "AccountFrozen") status = "FROZEN";
    else if (type === "AccountUnfrozen") status = "ACTIVE";
  }
  return { balance, locked, status, version: ROUNDS };
}

describe.each(engines)("runner catch-up on %s", (engine) => {
  const db = useTestDatabase(engine);
  let app: App;
  const batches: number[] = [];

  beforeAll(async () => {
    app = await createRunnerApp(db, [banking], { runner: { batchSize: BATCH } });
    // The log is written before any runner starts, one event a transaction (a batch ends only at
    // a transaction's end), accounts interleaved so that most accounts span several batches.
    for (let round = 0; round < ROUNDS; round++) {
      for (let account = 0; account < ACCOUNTS; account++) {
        const { type, body } = eventOf(account, round, Math.floor(round / 6));
        const id = randomUUID();
        await db.sql.query(
          `INSERT INTO events (tenant_id, aggregate_name, aggregate_id, version, type, body,
                               command_id, request_id, correlation_id, causation_id)
           VALUES ('default', 'Account', $1, $2, $3, $4::jsonb, $5::uuid, $5::text, $5::uuid, $5::text)`,
          [`catch-${account}`, round + 1, type, JSON.stringify(body), id],
        );
      }
    }
    app.runners.runner(ACCOUNT_VIEW)?.onProgress((_checkpoint, batch) => batches.push(batch.events));
    await app.start();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("grows its batches while behind, up to 10× the configured size, and shrinks them once caught up", async () => {
    const runner = app.runners.runner(ACCOUNT_VIEW)!;
    const head = await app.events.headPosition();
    await waitFor(() => (runner.checkpoint?.position ?? 0n) >= head);
    expect(batches[0]).toBe(BATCH);
    expect(batches[1]).toBe(2 * BATCH);
    expect(Math.max(...batches)).toBe(MAX_BATCH_GROWTH * BATCH);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(ACCOUNTS * ROUNDS);
    // Caught up: the next read asks for the configured size again.
    await waitFor(() => runner.batchLimit === BATCH);
  });

  it("folds each batch per account: the rows equal applying every event one by one", async () => {
    const rows = await app.db.prisma.accountView.findMany({ where: { tenantId: "default" }, orderBy: { key: "asc" } });
    expect(rows).toHaveLength(ACCOUNTS);
    for (let account = 0; account < ACCOUNTS; account++) {
      const row = await app.db.prisma.accountView.findUnique({ where: { key: rowKey("default", `catch-${account}`) } });
      expect(row, `account ${account}`).toMatchObject({ id: `catch-${account}`, ...expectedRow(account) });
    }
    expect(await app.db.prisma.deadLetter.count()).toBe(0);
    // The live path after a catch-up: one more deposit lands on the folded row.
    const r = await app.gateway.sendAndWait(accountCommand("Deposit", "catch-0", { amount: 5 }), {
      stage: "PROJECTED",
    });
    expect(r).toMatchObject({ succeeded: true });
    const row = await app.db.prisma.accountView.findUnique({ where: { key: rowKey("default", "catch-0") } });
    expect(row).toMatchObject({ balance: expectedRow(0).balance + 5, version: ROUNDS + 1 });
  });
});

/**
 * PostgreSQL only: PGlite has one session, so no transaction can stay open beside the runner's
 * reads (its horizon is never held back by another connection).
 */
describe("a runner held back by the xmin horizon", () => {
  const db = useTestDatabase("postgres");
  let app: App;
  let holder: pg.Client;

  beforeAll(async () => {
    app = await createApp({
      config: {
        ...loadConfig({ NODE_ENV: "test" }),
        port: 0,
        // A poll far beyond the test's deadline: only a wake-up or a quick re-read can read.
        runner: { batchSize: BATCH, pollMs: 60_000, maxAttempts: 3, onPoison: "dead-letter" },
      },
      database: db,
      contexts: [banking],
    });
    await app.start();
    holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
  });
  afterAll(async () => {
    await holder?.end().catch(() => {});
    await app?.stop();
  });

  it("reads again soon after the holding transaction ends, though nothing announces it", async () => {
    const created = await app.gateway.sendAndWait(
      accountCommand("CreateAccount", "held", { name: "h", initialBalance: 0 }),
      {
        stage: "PROJECTED",
      },
    );
    expect(created.succeeded).toBe(true);
    const runner = app.runners.runner(ACCOUNT_VIEW)!;

    // A transaction with an ID holds the horizon: the deposit commits (and is announced) after it started.
    await holder.query("BEGIN");
    await holder.query("SELECT pg_current_xact_id()");
    const deposit = await app.gateway.sendAndWait(accountCommand("Deposit", "held", { amount: 3 }));
    expect(deposit.succeeded).toBe(true);
    const position = deposit.positions.at(-1)!;
    // Held back: the announced read found nothing readable.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runner.checkpoint!.position < position).toBe(true);

    // The holder ends without appending anything: no announcement, only the re-read can see it.
    await holder.query("COMMIT");
    await waitFor(() => (runner.checkpoint?.position ?? 0n) >= position, 15_000);
    const row = await app.db.prisma.accountView.findUnique({ where: { key: rowKey("default", "held") } });
    expect(row).toMatchObject({ balance: 3 });
  });
});
