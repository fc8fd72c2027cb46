/**
 * Group commit and the aggregate cache, on both engines: commands decided while a commit runs
 * commit together, and one command's refusal, conflict or failure never fails the others; a
 * transaction that fails rolls the whole group back and every command is still answered once; a
 * crash loses no acknowledged command and applies none twice; commands on one aggregate keep
 * their order; and a cached state another process moved on is never decided on.
 *
 * A test gate holds a commit open (its transaction waits before it starts), so the commands sent
 * meanwhile are known to form the next group; a spy on the transaction records each group's
 * command IDs as the mark statement receives them.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { replay } from "../../src/core/aggregate.ts";
import { type CommandResult, OK } from "../../src/core/stages.ts";
import { Account, type AccountState } from "../../src/domains/banking/account.ts";
import { lastOf, type Sent } from "../../src/gateway/gateway.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import type { SqlClient, SqlExecutor } from "../../src/store/sql.ts";
import { engines, openTestDatabase, type TestDatabase } from "../support/databases.ts";

const tenantId = "groups";
const config = { ...loadConfig({ NODE_ENV: "test" }), port: 0, waitTimeoutMs: 15_000 };

interface Hooks {
  /** The next transaction waits for this before it starts. */
  gate?: Promise<void>;
  /** A transaction is waiting at the gate. */
  atGate: boolean;
  /** Fail (roll back, after all its statements) the next transaction that commits two or more commands. */
  failNextGroup: boolean;
  /** Fail every transaction: the process "dies" before any commit. */
  failAll: boolean;
  /** The command IDs of each transaction's mark statement, in order. */
  groups: string[][];
}

/** The database with a hook around each transaction of the raw SQL client. */
function hooked(db: Database, hooks: Hooks): Database {
  const sql: SqlClient = {
    ...db.sql,
    async transaction(work) {
      const gate = hooks.gate;
      hooks.gate = undefined;
      if (gate) {
        hooks.atGate = true;
        await gate;
        hooks.atGate = false;
      }
      return db.sql.transaction(async (tx) => {
        let group: string[] = [];
        const spy: SqlExecutor = {
          query(text, params, options) {
            if (text.includes("UPDATE commands c SET status = 'DONE'")) {
              group = (JSON.parse(String(params?.[0])) as { command_id: string }[]).map((r) => r.command_id);
              hooks.groups.push(group);
            }
            return tx.query(text, params, options);
          },
          exec: (script) => tx.exec(script),
        };
        const result = await work(spy);
        if (hooks.failAll || (hooks.failNextGroup && group.length >= 2)) {
          hooks.failNextGroup = false;
          throw new Error("simulated failure at COMMIT");
        }
        return result;
      });
    },
  };
  return { ...db, sql };
}

const newHooks = (): Hooks => ({ atGate: false, failNextGroup: false, failAll: false, groups: [] });

/**
 * The two ways a synchronous command is committed: "merged" (the caller waits beyond SENT: it is
 * accepted in its group's transaction) and "stored" (accepted alone first, then processed).
 */
const paths = ["merged", "stored"] as const;
type Path = (typeof paths)[number];

/** Sends a command along `path`; resolves with its PROCESSED result. */
async function processed(app: App, path: Path, type: string, aggregateId: string, input: unknown) {
  if (path === "merged") return lastOf((await send(app, type, aggregateId, input)).results);
  const { commandId } = await send(app, type, aggregateId, input, "SENT");
  return app.gateway.waitFor(tenantId, commandId, { stage: "PROCESSED" });
}

const send = (app: App, type: string, aggregateId: string, input: unknown, stage: "SENT" | "PROCESSED" = "PROCESSED") =>
  app.gateway.send({ tenantId, aggregateName: "Account", type, aggregateId, input }, { stage });

async function open(app: App, id: string, initialBalance: number) {
  const result = await lastOf((await send(app, "CreateAccount", id, { name: id, initialBalance })).results);
  expect(result.errorCode).toBe(OK);
}

const stream = (aggregateId: string) => ({ tenantId, aggregateName: "Account", aggregateId });

async function accountState(app: App, id: string) {
  return (await app.aggregates.load(Account, stream(id))).state as AccountState;
}

/** Holds the next commit at a gate; resolves `release` to let it go. */
function holdNextCommit(hooks: Hooks): () => void {
  let release!: () => void;
  hooks.gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return release;
}

async function processedResults(app: App, commandId: string) {
  return (await app.gateway.resultsSoFar(tenantId, commandId)).filter((r) => r.stage === "PROCESSED");
}

const sameMembers = (a: readonly string[], b: readonly string[]) => [...a].sort().join() === [...b].sort().join();

describe.each(engines)("group commit on %s", (engine) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  it.each(paths)(
    "a refusal and a conflict in one group fail only their own command; the conflict is decided again alone (%s)",
    async (path) => {
      const hooks = newHooks();
      const app = await createApp({ config, database: hooked(db, hooks) });
      try {
        for (const id of [`${path}-r-first`, `${path}-r-ok`, `${path}-r-poor`, `${path}-r-stale`])
          await open(app, id, 100);
        // Another writer moves r-stale on behind this process's back: its cached state is stale.
        await app.events.append(stream(`${path}-r-stale`), 1, [{ type: "MoneyDeposited", data: { amount: 5 } }], {
          commandId: randomUUID(),
          requestId: "outside",
          correlationId: randomUUID(),
          causationId: "outside",
        });

        const release = holdNextCommit(hooks);
        const first = processed(app, path, "Deposit", `${path}-r-first`, { amount: 1 });
        await vi.waitFor(() => expect(hooks.atGate).toBe(true), { timeout: 10_000 });
        const sent = Promise.all([
          processed(app, path, "Deposit", `${path}-r-ok`, { amount: 10 }),
          processed(app, path, "Withdraw", `${path}-r-poor`, { amount: 1_000 }),
          processed(app, path, "Deposit", `${path}-r-stale`, { amount: 10 }),
        ]);
        await vi.waitFor(() => expect(app.processor.commitsWaiting).toBe(3), { timeout: 10_000 });
        release();
        const [ok, poor, stale] = await sent;
        expect((await first).errorCode).toBe(OK);

        expect(ok).toMatchObject({ errorCode: OK, succeeded: true, aggregateVersion: 2 });
        expect(poor).toMatchObject({ errorCode: "INSUFFICIENT_BALANCE", succeeded: false, aggregateVersion: 1 });
        expect(stale).toMatchObject({ errorCode: OK, succeeded: true, aggregateVersion: 3 });
        const ids = [ok!.commandId, poor!.commandId, stale!.commandId];
        // The three were one group; the stale one alone committed again afterwards. (Without the
        // group's taking back the stale command's DONE mark, it is never answered: this fails.)
        expect(hooks.groups.some((g) => sameMembers(g, ids))).toBe(true);
        expect(hooks.groups.at(-1)).toEqual([stale!.commandId]);
        expect((await accountState(app, `${path}-r-ok`)).balance).toBe(110);
        expect((await accountState(app, `${path}-r-poor`)).balance).toBe(100);
        expect((await accountState(app, `${path}-r-stale`)).balance).toBe(115);
        for (const id of ids) expect(await processedResults(app, id)).toHaveLength(1);
      } finally {
        await app.stop();
      }
    },
  );

  it.each(paths)(
    "a group whose commit fails is rolled back whole and each command is answered once, committed alone (%s)",
    async (path) => {
      const hooks = newHooks();
      const app = await createApp({ config, database: hooked(db, hooks) });
      try {
        for (const id of [`${path}-f-first`, `${path}-f-1`, `${path}-f-2`, `${path}-f-3`]) await open(app, id, 0);
        const release = holdNextCommit(hooks);
        const first = processed(app, path, "Deposit", `${path}-f-first`, { amount: 1 });
        await vi.waitFor(() => expect(hooks.atGate).toBe(true), { timeout: 10_000 });
        const sent = Promise.all(
          [`${path}-f-1`, `${path}-f-2`, `${path}-f-3`].map((id) => processed(app, path, "Deposit", id, { amount: 7 })),
        );
        await vi.waitFor(() => expect(app.processor.commitsWaiting).toBe(3), { timeout: 10_000 });
        hooks.failNextGroup = true;
        release();
        const answers = await sent;
        await first;

        const ids = answers.map((a) => a.commandId);
        const failedGroup = hooks.groups.findIndex((g) => sameMembers(g, ids));
        expect(failedGroup).toBeGreaterThanOrEqual(0);
        expect(hooks.failNextGroup).toBe(false);
        // Each decided again and committed in a transaction of its own. (Without that fallback the
        // commands stay PENDING until a worker takes them: this fails.)
        for (const id of ids) expect(hooks.groups.slice(failedGroup + 1)).toContainEqual([id]);
        for (const [i, answer] of answers.entries()) {
          expect(answer).toMatchObject({ commandId: ids[i], errorCode: OK, aggregateVersion: 2 });
          expect(await processedResults(app, ids[i]!)).toHaveLength(1);
          const events = await app.events.readStream(stream(`${path}-f-${i + 1}`));
          expect(events.map((e) => e.type)).toEqual(["AccountCreated", "MoneyDeposited"]);
        }
      } finally {
        await app.stop();
      }
    },
  );

  it("a crash before the group commits loses no acknowledged command and applies none twice", async () => {
    const hooks = newHooks();
    const ids = ["c-1", "c-2", "c-3"];
    const crashing = await createApp({ config, database: hooked(db, hooks) });
    let sent: Sent[];
    try {
      for (const id of ["c-first", ...ids]) await open(crashing, id, 0);
      // From here no transaction commits: the process "dies" with every command acknowledged
      // (SENT) and none processed. The gate makes the first command of each account one group.
      hooks.failAll = true;
      const release = holdNextCommit(hooks);
      sent = [await send(crashing, "Deposit", "c-first", { amount: 1 }, "SENT")];
      for (const [i, id] of [...ids, ...ids].entries()) {
        sent.push(await send(crashing, "Deposit", id, { amount: 1 + (i % 3) * 10 }, "SENT"));
      }
      await vi.waitFor(() => expect(crashing.processor.commitsWaiting).toBe(3), { timeout: 10_000 });
      release();
      for (const s of sent) expect((await lastOf(s.results)).stage).toBe("SENT");
      await crashing.gateway.drain();
      expect(hooks.groups.some((g) => g.length === 3)).toBe(true);
      // A caller waiting beyond SENT is accepted in the group's transaction: when it cannot
      // commit, the caller gets the error and nothing is stored (nothing was acknowledged).
      await expect(
        crashing.gateway.send(
          {
            tenantId,
            aggregateName: "Account",
            type: "Deposit",
            aggregateId: "c-1",
            input: { amount: 1_000 },
            requestId: "never-stored",
          },
          { stage: "PROCESSED" },
        ),
      ).rejects.toThrow("simulated failure at COMMIT");
    } finally {
      await crashing.stop();
    }
    for (const id of ids) expect(await crashing.events.readStream(stream(id))).toHaveLength(1);
    expect(await db.sql.query("SELECT 1 FROM commands WHERE request_id = 'never-stored'")).toHaveLength(0);

    // The next process's worker takes the orphaned commands.
    const restarted = await createApp({ config: { ...config, orphanAfterMs: 100 }, database: db });
    await restarted.start();
    try {
      for (const s of sent) {
        const result = await restarted.gateway.waitFor(tenantId, s.commandId, {
          stage: "PROCESSED",
          timeoutMs: 15_000,
        });
        expect(result.errorCode).toBe(OK);
        expect(await processedResults(restarted, s.commandId)).toHaveLength(1);
      }
      for (const [i, id] of ids.entries()) {
        const events = await restarted.events.readStream(stream(id));
        expect(events).toHaveLength(3);
        expect((await accountState(restarted, id)).balance).toBe(2 * (1 + i * 10));
      }
    } finally {
      await restarted.stop();
    }
  });

  it.each(paths)("commands on one aggregate keep their order, whatever groups they commit in (%s)", async (path) => {
    const hooks = newHooks();
    const app = await createApp({ config, database: hooked(db, hooks) });
    try {
      for (const id of [`${path}-o-first`, `${path}-o-main`, `${path}-o-2`, `${path}-o-3`]) await open(app, id, 0);
      const release = holdNextCommit(hooks);
      const first = processed(app, path, "Deposit", `${path}-o-first`, { amount: 1 });
      await vi.waitFor(() => expect(hooks.atGate).toBe(true), { timeout: 10_000 });
      // Arrival order: the order of the calls (merged), or of the acceptances (stored).
      const sendInOrder = async (id: string, amount: number): Promise<{ answer: Promise<CommandResult> }> => {
        if (path === "merged") return { answer: processed(app, path, "Deposit", id, { amount }) };
        const { commandId } = await send(app, "Deposit", id, { amount }, "SENT");
        return { answer: app.gateway.waitFor(tenantId, commandId, { stage: "PROCESSED" }) };
      };
      const mainAnswers: Promise<CommandResult>[] = [];
      const others: Promise<CommandResult>[] = [];
      for (let n = 1; n <= 20; n++) {
        mainAnswers.push((await sendInOrder(`${path}-o-main`, n)).answer);
        if (n % 4 === 0) others.push((await sendInOrder(n % 8 === 0 ? `${path}-o-2` : `${path}-o-3`, n)).answer);
      }
      release();
      const main = await Promise.all(mainAnswers);
      for (const r of [await first, ...main, ...(await Promise.all(others))]) expect(r.errorCode).toBe(OK);
      expect(hooks.groups.some((g) => g.length >= 2)).toBe(true);
      const events = (await app.events.readStream(stream(`${path}-o-main`))).slice(1);
      expect(events.map((e) => (e.data as { amount: number }).amount)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      expect(events.map((e) => e.commandId)).toEqual(main.map((s) => s.commandId));
      // The mechanism: one command per aggregate in a group, the next decided only after it
      // committed. (Removing the processor's keyed queue puts many o-main commands in one group:
      // this fails on both engines, and the order above fails on PostgreSQL.)
      const mainIds = new Set(main.map((s) => s.commandId));
      for (const group of hooks.groups) expect(group.filter((id) => mainIds.has(id)).length).toBeLessThanOrEqual(1);
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    } finally {
      await app.stop();
    }
  });

  it("two instances writing one aggregate never decide on a stale cached state; the balance is exact", async () => {
    // Two gateways with their own caches on one database (PostgreSQL: two pools, like two
    // processes; PGlite: one in-process database, two processors).
    const second = engine === "postgres" ? await openDatabase(parseDatabaseUrl(db.url!, ""), { poolSize: 10 }) : db;
    const one = await createApp({ config, database: db });
    const two = await createApp({ config, database: second });
    const act = async (app: App, type: string, amount: number) =>
      lastOf((await send(app, type, "shared", { amount })).results);
    try {
      await open(one, "shared", 0);
      expect((await act(two, "Deposit", 1)).aggregateVersion).toBe(2);
      // One's cache still says balance 0: a refusal on it would be wrong. Caught, reloaded,
      // accepted. (Without the version check on refusals in the mark statement this fails.)
      expect(await act(one, "Withdraw", 1)).toMatchObject({ errorCode: OK, aggregateVersion: 3 });
      expect(await act(two, "Deposit", 10)).toMatchObject({ errorCode: OK, aggregateVersion: 4 });
      expect(await act(one, "Withdraw", 10)).toMatchObject({ errorCode: OK, aggregateVersion: 5 });

      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          act(i % 2 === 0 ? one : two, i % 3 === 0 ? "Withdraw" : "Deposit", i % 3 === 0 ? 7 : 3).then((r) => ({
            r,
            amount: i % 3 === 0 ? -7 : 3,
          })),
        ),
      );
      let expected = 0;
      for (const { r, amount } of answers) {
        if (r.succeeded) expected += amount;
        else expect(r.errorCode).toBe("INSUFFICIENT_BALANCE");
      }
      const events = await one.events.readStream(stream("shared"));
      expect(events).toHaveLength(5 + answers.filter((a) => a.r.succeeded).length);
      let state = Account.initialState();
      for (const event of events) {
        state = replay(Account, [event], state);
        expect(state.balance).toBeGreaterThanOrEqual(0);
      }
      expect(state.balance).toBe(expected);
    } finally {
      await two.stop();
      await one.stop();
      if (second !== db) await second.close();
    }
  });
});
