/**
 * SIGKILL at random moments while clients move money among 50 accounts, five times over,
 * restarting the server each time. Afterwards nothing accepted is lost and nothing happened
 * twice: money is conserved, every command a client saw PROCESSED is in the log, every read
 * model equals the state rebuilt from the log, no transfer is left half-way, and asynchronous
 * commands stored before a kill were processed after it. PostgreSQL only (a killed process
 * must leave its database to the next one).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { StoredEventShape } from "../../src/core/aggregate.ts";
import { replay } from "../../src/core/aggregate.ts";
import { Registry } from "../../src/core/registry.ts";
import { Account, type AccountState } from "../../src/domains/banking/account.ts";
import { contexts } from "../../src/domains/index.ts";
import { openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { EventLog } from "../../src/store/event-log.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/databases.ts";
import { freePort } from "../support/embedded-postgres.ts";
import { waitUntil } from "../support/eventually.ts";
import { postToProcess, type ServerProcess, startServerProcess } from "../support/server-process.ts";

const ACCOUNTS = 50;
/** Every runner the server runs (projections, saga, snapshots) must end at the head. */
const PROCESSORS = new Registry(contexts, { snapshots: true }).processors.length;
const OPENING_BALANCE = 1_000;
const KILLS = 5;
const CLIENTS = 6;
const ASYNC_DEPOSIT = 10;
/**
 * How much each server life must serve before it is killed (and the last one before the load
 * stops): counted in acknowledged commands, not in seconds, so that a slow machine runs longer
 * rather than proving less. Over the six lives this is more than the 21 transfers and 6 async
 * deposits the test once hoped to fit in a fixed time (and on a slow machine did not).
 */
const TRANSFERS_PER_LIFE = 5;
const ASYNC_DEPOSITS_PER_LIFE = 2;
/** Generous: only a server that stopped serving should reach it. */
const LIFE_DEADLINE_MS = 60_000;

interface Reply {
  data?: Record<string, { commandId: string; errorCode: string; stage: string } | null> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

const TRANSFER = `mutation($from: ID!, $to: String!, $t: String!, $n: Int!) {
  prepareTransfer(command: { aggregateId: $from, requestId: $t, waitFor: { stage: PROCESSED } },
                  input: { transferId: $t, targetAccountId: $to, amount: $n }) { commandId errorCode stage }
}`;
const ASYNC_DEPOSIT_MUTATION = `mutation($id: ID!, $r: String!) {
  deposit(command: { aggregateId: $id, requestId: $r, async: true, waitFor: { stage: SENT } },
          input: { amount: ${ASYNC_DEPOSIT} }) { commandId errorCode stage }
}`;
const OPEN = `mutation($id: ID!, $r: String!) {
  createAccount(command: { aggregateId: $id, requestId: $r, waitFor: { stage: PROCESSED } },
                input: { name: $r, initialBalance: ${OPENING_BALANCE} }) { commandId errorCode }
}`;

const randomInt = (below: number) => Math.floor(Math.random() * below);
const accountId = (i: number) => `acc-${i}`;

describe("crash recovery under SIGKILL (PostgreSQL)", () => {
  let databaseUrl: string;
  let drop: () => Promise<void>;
  let server: ServerProcess | undefined;
  let env: Record<string, string>;
  beforeAll(async () => {
    ({ url: databaseUrl, drop } = await createPostgresDatabase());
    env = {
      DATABASE_URL: databaseUrl,
      PORT: String(await freePort()),
      DATABASE_POOL_SIZE: "12",
      RUNNER_POLL_MS: "100",
      COMMAND_ORPHAN_AFTER_MS: "500",
    };
  });
  afterAll(async () => {
    server?.child.kill("SIGKILL");
    await server?.exited;
    await drop?.();
  });

  /** The server's reply; undefined when it died under the request (its outcome is unknown to us). */
  const call = async (query: string, variables: Record<string, unknown>): Promise<Reply | undefined> =>
    server && postToProcess<Reply>(server.url, query, variables);

  it("conserves money, loses nothing accepted, applies nothing twice, and finishes every transfer", {
    // Six lives of load at up to LIFE_DEADLINE_MS each, then the wait for everything to settle.
    timeout: 600_000,
  }, async () => {
    server = await startServerProcess(env);
    const opened = await Promise.all(
      Array.from({ length: ACCOUNTS }, (_, i) => call(OPEN, { id: accountId(i), r: accountId(i) })),
    );
    expect(opened.map((r) => r?.data?.createAccount?.errorCode)).toEqual(Array(ACCOUNTS).fill("Ok"));

    const seenProcessed = new Set<string>(); // commandIds a client saw PROCESSED and accepted
    const seenStoredAsync = new Set<string>(); // async commands a client saw SENT
    // What the current server life acknowledged (a reply counts for the life that sent it).
    let life = 0;
    let lifeProcessed = 0;
    let lifeStoredAsync = 0;
    let running = true;
    let sequence = 0;
    const client = async () => {
      while (running) {
        const k = sequence++;
        const sentInLife = life;
        if (k % 5 === 0) {
          const reply = await call(ASYNC_DEPOSIT_MUTATION, { id: accountId(randomInt(ACCOUNTS)), r: `dep-${k}` });
          const sent = reply?.data?.deposit;
          if (sent?.stage === "SENT" && sent.errorCode === "Ok") {
            seenStoredAsync.add(sent.commandId);
            if (sentInLife === life) lifeStoredAsync++;
          }
        } else {
          const from = randomInt(ACCOUNTS);
          const to = (from + 1 + randomInt(ACCOUNTS - 1)) % ACCOUNTS;
          const reply = await call(TRANSFER, {
            from: accountId(from),
            to: accountId(to),
            t: `t-${k}`,
            n: 1 + randomInt(200),
          });
          const processed = reply?.data?.prepareTransfer;
          if (processed?.stage === "PROCESSED" && processed.errorCode === "Ok") {
            seenProcessed.add(processed.commandId);
            if (sentInLife === life) lifeProcessed++;
          }
        }
        if (!server) await new Promise((r) => setTimeout(r, 50));
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);

    // Each life serves its share of load before it ends; a fixed time would prove less on a slow
    // machine. A little more than the share, at random, so the kills land at different moments.
    let extra = 0;
    const served = () =>
      waitUntil(
        `server life ${life} to acknowledge ${TRANSFERS_PER_LIFE} transfers and ${ASYNC_DEPOSITS_PER_LIFE} async deposits`,
        () => lifeProcessed >= TRANSFERS_PER_LIFE + extra && lifeStoredAsync >= ASYNC_DEPOSITS_PER_LIFE,
        {
          timeoutMs: LIFE_DEADLINE_MS,
          progress: () =>
            `${lifeProcessed} transfers and ${lifeStoredAsync} async deposits (${seenProcessed.size} and ${seenStoredAsync.size} in all)`,
        },
      );
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        extra = randomInt(3);
        await served();
        const victim = server!;
        server = undefined;
        victim.child.kill("SIGKILL");
        await victim.exited;
        server = await startServerProcess(env);
        [life, lifeProcessed, lifeStoredAsync] = [life + 1, 0, 0];
      }
      extra = 0;
      await served(); // the last server, too, serves load after the restart
    } finally {
      running = false; // also when a life fell short: the clients must not outlive the test
      await Promise.all(clients);
    }

    const db = await openDatabase(parseDatabaseUrl(databaseUrl, ""), { poolSize: 2 });
    try {
      await vi.waitFor(() => expectSettled(db), { timeout: 120_000, interval: 200 });
      await expectNothingLostOrDoubled(db, seenProcessed, seenStoredAsync);
    } finally {
      await db.close();
    }
  });
});

interface EventRow extends StoredEventShape {
  aggregate_id: string;
  command_id: string;
  transfer_id: string | null;
}

async function readLog(db: TestDatabase | Awaited<ReturnType<typeof openDatabase>>) {
  const rows = await db.sql.query<{
    aggregate_id: string;
    command_id: string;
    type: string;
    schema_version: number;
    body: unknown;
  }>("SELECT aggregate_id, command_id::text, type, schema_version, body FROM events ORDER BY position");
  return rows.map(
    (r): EventRow => ({
      aggregate_id: r.aggregate_id,
      command_id: r.command_id,
      type: r.type,
      schemaVersion: r.schema_version,
      data: r.body,
      transfer_id: (r.body as { transferId?: string }).transferId ?? null,
    }),
  );
}

function statesFrom(events: readonly EventRow[]): Map<string, AccountState & { version: number }> {
  const byAccount = new Map<string, EventRow[]>();
  for (const e of events) byAccount.set(e.aggregate_id, [...(byAccount.get(e.aggregate_id) ?? []), e]);
  return new Map(
    [...byAccount].map(([id, stream]) => [id, { ...replay(Account, stream), version: stream.length }] as const),
  );
}

/** Every command processed, every runner at the head, every transfer settled. */
async function expectSettled(db: Awaited<ReturnType<typeof openDatabase>>) {
  const pending = await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM commands WHERE status <> 'DONE'");
  expect(pending[0]!.n).toBe(0);
  const log = new EventLog(db.sql);
  const checkpoints = await db.sql.query<{ processor_name: string; transaction_id: string; position: string }>(
    "SELECT processor_name, transaction_id::text, position::text FROM processor_checkpoints",
  );
  expect(checkpoints.length).toBe(PROCESSORS);
  for (const c of checkpoints) {
    const rest = await log.readAll({ transactionId: BigInt(c.transaction_id), position: BigInt(c.position) }, 1);
    expect(rest.events.length, `${c.processor_name} is behind`).toBe(0);
  }
  const states = statesFrom(await readLog(db));
  for (const [id, state] of states) expect(state.locked, `${id} still has money locked`).toBe(0);
}

async function expectNothingLostOrDoubled(
  db: Awaited<ReturnType<typeof openDatabase>>,
  seenProcessed: ReadonlySet<string>,
  seenStoredAsync: ReadonlySet<string>,
) {
  const events = await readLog(db);
  const states = statesFrom(events);
  const deposits = events.filter((e) => e.type === "MoneyDeposited");

  // Money is conserved: what was opened plus what was deposited, nothing more, nothing less.
  const total = [...states.values()].reduce((sum, s) => sum + s.balance, 0);
  expect(total).toBe(ACCOUNTS * OPENING_BALANCE + deposits.length * ASYNC_DEPOSIT);
  for (const state of states.values()) expect(state.balance).toBeGreaterThanOrEqual(0);

  // Everything a client was told happened is in the log; stored async commands were processed.
  const commandsInLog = new Set(events.map((e) => e.command_id));
  for (const commandId of seenProcessed) expect(commandsInLog.has(commandId), commandId).toBe(true);
  const depositCommands = new Set(deposits.map((e) => e.command_id));
  for (const commandId of seenStoredAsync) expect(depositCommands.has(commandId), commandId).toBe(true);

  // No effect applied twice: one transaction per command, one step of each kind per transfer.
  const split = await db.sql.query(
    "SELECT command_id FROM events GROUP BY command_id HAVING count(DISTINCT transaction_id) > 1",
  );
  expect(split).toEqual([]);
  const steps = new Map<string, string[]>();
  for (const e of events) {
    if (e.transfer_id) steps.set(e.transfer_id, [...(steps.get(e.transfer_id) ?? []), e.type]);
  }
  const outcomes = new Map<string, "COMPLETED" | "FAILED">();
  for (const [transferId, types] of steps) {
    const completed = ["TransferPrepared", "TransferReceived", "TransferConfirmed"];
    const failed = ["TransferPrepared", "TransferUnlocked"];
    const sorted = [...types].sort();
    if (JSON.stringify(sorted) === JSON.stringify([...completed].sort())) outcomes.set(transferId, "COMPLETED");
    else if (JSON.stringify(sorted) === JSON.stringify([...failed].sort())) outcomes.set(transferId, "FAILED");
    else expect.fail(`transfer ${transferId} has the steps ${types.join(", ")}`);
  }

  // Every read model equals the state rebuilt from the log.
  const accountViews = await db.prisma.accountView.findMany();
  expect(accountViews.length).toBe(ACCOUNTS);
  for (const view of accountViews) {
    const state = states.get(view.id)!;
    expect({ balance: view.balance, locked: view.locked, status: view.status, version: view.version }, view.id).toEqual(
      {
        balance: state.balance,
        locked: state.locked,
        status: state.frozen ? "FROZEN" : "ACTIVE",
        version: state.version,
      },
    );
  }
  const transferViews = await db.prisma.transferView.findMany();
  expect(new Map(transferViews.map((t) => [t.id, t.status]))).toEqual(outcomes);
}
