/**
 * At most once per command: a stored command handed to processing twice — by one processor, and
 * by two processors that share the database (two "processes") — is applied once: one set of
 * events, one balance change, one PROCESSED result. That happens for real when a worker picks up
 * a command its request is still processing, or two processes' workers take the same one.
 *
 * Catches (verified by removing it): skipping the DONE check in the command's commit, i.e.
 * `if (!(await commands.markDone(tx, command.commandId))) throw new AlreadyProcessed()` in
 * src/gateway/aggregate-processor.ts reduced to `await commands.markDone(...)` (or the
 * `AND status = 'PENDING'` condition dropped from CommandStore.markDone). Without it the second
 * processing loads the state the first one left, decides again and appends a second deposit
 * (or, racing, hits the version check and retries into the same second deposit).
 *
 * Behaviour level only, so a rewrite of the commit path keeps it: commands go in through
 * `App.gateway.send(request, { stage: "SENT" })` with `async: true` (stored PENDING, and no worker
 * runs because the apps are never started), come back as a StoredCommand through
 * `App.gateway.command(tenantId, commandId)`, and are processed with
 * `App.processor.process(command)` (AggregateProcessor.process), the entry point the gateway
 * and the command worker use.
 *
 * Two processes: on PostgreSQL a second app with its own connection pool on the same database.
 * A PGlite database lives inside one process and has one connection (an in-memory one cannot
 * be opened twice, and two PGlite instances on one folder would corrupt it), so there the second
 * "process" is a second app — its own processor, queue and stores — over the same Database:
 * everything above the connection is duplicated, as it is between two processes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import type { CommandResult } from "../../src/core/stages.ts";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { engines, openTestDatabase, type TestDatabase } from "../support/databases.ts";

const config = { ...loadConfig({ NODE_ENV: "test" }), port: 0 };
const tenantId = "once";

describe.each(engines)("a command processed twice is applied once, on %s", (engine) => {
  let db: TestDatabase;
  let secondDb: Database;
  let app: App;
  let other: App;

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    app = await createApp({ config, database: db });
    secondDb = engine === "postgres" ? await openDatabase(parseDatabaseUrl(db.url!, ""), { poolSize: 10 }) : db;
    other = await createApp({ config, database: secondDb });
  });
  afterAll(async () => {
    await other?.stop();
    await app?.stop();
    if (secondDb && secondDb !== db) await secondDb.close();
    await db?.close();
  });

  async function openAccount(id: string) {
    const created = await app.gateway.sendAndWait({
      tenantId,
      aggregateName: "Account",
      type: "CreateAccount",
      aggregateId: id,
      input: { name: id, initialBalance: 100 },
    });
    expect(created).toMatchObject({ stage: "PROCESSED", succeeded: true });
  }

  /** A deposit stored and left PENDING (async, no worker running): nothing has processed it yet. */
  async function storedDeposit(id: string, amount: number) {
    const { commandId } = await app.gateway.send(
      { tenantId, aggregateName: "Account", type: "Deposit", aggregateId: id, input: { amount }, async: true },
      { stage: "SENT" },
    );
    const command = await app.gateway.command(tenantId, commandId);
    expect(command.status).toBe("PENDING");
    return command;
  }

  async function balance(id: string) {
    const { state, version } = await app.aggregates.load(app.registry.aggregate("Account")!.aggregate, {
      tenantId,
      aggregateName: "Account",
      aggregateId: id,
    });
    return { balance: (state as { balance: number }).balance, version };
  }

  async function storedFor(commandId: string) {
    const events = await db.sql.query<{ type: string }>("SELECT type FROM events WHERE command_id = $1", [commandId]);
    const processed = await db.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM command_results WHERE command_id = $1 AND stage = 'PROCESSED' AND scope = 'STAGE'",
      [commandId],
    );
    return { events: events.map((e) => e.type), processedResults: processed[0]!.n };
  }

  /** The deposit went in once: one event, one PROCESSED result, and the balance moved once (to `balanceAfter`). */
  async function expectAppliedOnce(accountId: string, commandId: string, balanceAfter: number): Promise<void> {
    expect(await balance(accountId)).toEqual({ balance: balanceAfter, version: 2 });
    expect(await storedFor(commandId)).toEqual({ events: ["MoneyDeposited"], processedResults: 1 });
  }

  const processedOf = (results: CommandResult[]) => results.find((r) => r.stage === "PROCESSED" && r.scope === "STAGE");

  it("by one processor, one call after the other", async () => {
    await openAccount("sequential");
    const command = await storedDeposit("sequential", 25);
    const first = await app.processor.process(command);
    const second = await app.processor.process(command);

    await expectAppliedOnce("sequential", command.commandId, 125);
    // Both callers learn the one outcome.
    expect(processedOf(first)).toMatchObject({ succeeded: true, aggregateVersion: 2 });
    expect(processedOf(second)).toMatchObject({ succeeded: true, aggregateVersion: 2, id: processedOf(first)!.id });
  });

  // With two processes, each process's queue orders only its own calls: both may load version 1
  // and decide, and whichever commits second must apply nothing, whether it reaches its commit
  // before or after noticing the other's append (the outcome does not depend on the interleaving).
  it.each([
    ["by one processor, both calls at once", "together", () => app],
    ["by two processes sharing the database, both at once", "two-apps-racing", () => other],
  ])("%s", async (_name, id, secondApp) => {
    await openAccount(id);
    const command = await storedDeposit(id, 25);
    const outcomes = await Promise.all([app.processor.process(command), secondApp().processor.process(command)]);

    await expectAppliedOnce(id, command.commandId, 125);
    for (const results of outcomes)
      expect(processedOf(results)).toMatchObject({ succeeded: true, aggregateVersion: 2 });
  });

  it("by two processes sharing the database, one after the other", async () => {
    await openAccount("two-apps");
    const command = await storedDeposit("two-apps", 25);
    await app.processor.process(command);
    const second = await other.processor.process(command);

    await expectAppliedOnce("two-apps", command.commandId, 125);
    expect(processedOf(second)).toMatchObject({ succeeded: true, aggregateVersion: 2 });
  });
});
