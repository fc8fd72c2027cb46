/**
 * Stage signals across processes: a stage reached in instance A reaches a wait in B through
 * LISTEN/NOTIFY (or Redis pub/sub), with B's store re-read pushed out of reach (10 minutes), so
 * only the signal can deliver it in time; and after B's listening connection is dropped, stages
 * still arrive (B reconnects and re-reads what it watches). The Redis suite runs where REDIS_URL
 * names a reachable redis-server (CI, and any machine that has one).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import type { CommandResult } from "../../src/core/stages.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { waitForResults } from "../../src/gateway/wait.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { PgSignalTransport } from "../../src/store/pg-signals.ts";
import { RedisSignalTransport } from "../../src/store/redis-signals.ts";
import type { SignalTransport } from "../../src/store/signal-transport.ts";
import { accountCommand } from "../support/app.ts";
import { openTestDatabase, type TestDatabase } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";
import { instanceConfig } from "./support/config.ts";
import { gatedHandler } from "./support/gated.ts";
import { type Listener, startListener } from "./support/listener.ts";

const redisUrl = process.env.REDIS_URL;
/** Its own channel: other suites and deployments may share the Redis. */
const redisChannel = `stageline_test_${randomUUID()}`;
const configFor = (signals: "notify" | "redis") =>
  instanceConfig({ leaseTtlMs: 3_000, signals, ...(signals === "redis" ? { redisUrl, redisChannel } : {}) });

/** Holds A's event handler until the test lets it go, so B's wait starts before the stage. */
const { context: gated, hold, open } = gatedHandler();

describe("stage signals across instances on one PostgreSQL (LISTEN/NOTIFY)", () => {
  signalSuite("notify", (url, sql) => new PgSignalTransport(url, sql));
});

describe.runIf(redisUrl)("stage signals across instances on one PostgreSQL (Redis pub/sub)", () => {
  signalSuite("redis", () => new RedisSignalTransport(redisUrl!, redisChannel));
});

function signalSuite(
  kind: "notify" | "redis",
  transportFor: (url: string, sql: Database["sql"]) => SignalTransport,
): void {
  const config = configFor(kind);
  let db: TestDatabase;
  let a: App;
  let other: Database;
  let b: Listener;

  beforeAll(async () => {
    db = await openTestDatabase("postgres");
    a = await createApp({ config, database: db, contexts: [banking, gated] });
    await a.start();
    // B: a second process's bus and signal connection, on its own pool.
    other = await openDatabase(parseDatabaseUrl(db.url!, ""), { poolSize: 4 });
    b = await startListener(other.sql, transportFor(db.url!, other.sql), config.retentionMs);
    await a.gateway.sendAndWait(accountCommand("CreateAccount", "x", { name: "x", initialBalance: 0 }));
  });
  afterAll(async () => {
    open();
    await b?.signals.stop();
    await other?.close();
    await a?.stop();
    await db?.close();
  });

  /** B waits for the command's EVENT_HANDLED; its store re-read is 10 minutes away. */
  async function waitOnB(commandId: string): Promise<CommandResult[]> {
    const seen: CommandResult[] = [];
    for await (const result of waitForResults(b, commandId, {
      target: { stage: "EVENT_HANDLED" },
      timeoutMs: 60_000,
      pollMs: 600_000,
    })) {
      seen.push(result);
    }
    return seen;
  }

  async function depositOnA(): Promise<string> {
    const result = await a.gateway.sendAndWait(accountCommand("Deposit", "x", { amount: 1 }));
    expect(result.errorCode).toBe("Ok");
    return result.commandId;
  }

  it(`a stage reached on A reaches a wait on B by ${kind === "redis" ? "Redis" : "NOTIFY"}`, async () => {
    hold();
    const commandId = await depositOnA();
    const waiting = waitOnB(commandId);
    await waitUntil("B watches the command", () => b.bus.watches(commandId), { timeoutMs: 30_000 });
    open();
    const seen = await waiting;
    expect(seen.at(-1)).toMatchObject({ stage: "EVENT_HANDLED", scope: "STAGE", succeeded: true });
    expect(b.signals.received).toBeGreaterThan(0);
  });

  it("after B's listening connection is dropped, stages still arrive", async () => {
    hold();
    const commandId = await depositOnA();
    const waiting = waitOnB(commandId);
    await waitUntil("B watches the command", () => b.bus.watches(commandId), { timeoutMs: 30_000 });
    b.signals.dropConnection();
    open();
    const seen = await waiting;
    expect(seen.at(-1)).toMatchObject({ stage: "EVENT_HANDLED", scope: "STAGE", succeeded: true });
  });
}
