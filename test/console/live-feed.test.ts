/**
 * The console's live feed (commandsSent) is driven by the bus's "command sent" signal, not by
 * polling: a feed on a bus nobody publishes to stays empty however long commands are sent, and
 * gets them when the bus asks for a resync (what the signal connection does when it is back).
 * On PostgreSQL, commands accepted by another process reach the feed by NOTIFY, and a dropped
 * LISTEN connection asks for that resync. The results stream (recentCommandResults) likewise: it
 * follows what the bus carries for the commands it follows, and on PostgreSQL the results another
 * process stored.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ConsoleService } from "../../src/console/console-service.ts";
import { recentResults } from "../../src/console/results-feed.ts";
import type { CommandResult } from "../../src/core/stages.ts";
import { CrossProcessSignals } from "../../src/gateway/cross-process-signals.ts";
import { ResultBus } from "../../src/gateway/result-bus.ts";
import { logger } from "../../src/logger.ts";
import { type ConsoleCommand, ConsoleQueries } from "../../src/store/console-queries.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { EventLog } from "../../src/store/event-log.ts";
import { OpsQueries } from "../../src/store/ops-queries.ts";
import { PgSignalTransport } from "../../src/store/pg-signals.ts";
import { ResultStore } from "../../src/store/result-store.ts";
import { accountCommand, startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";

/** A console feed on its own bus (and store connection), as another process would have it. */
function feedOn(bus: ResultBus, db: Pick<Database, "sql">, app: TestApp["app"]) {
  const queries = new ConsoleQueries(db.sql);
  const service = new ConsoleService({
    queries,
    ops: new OpsQueries(db.sql),
    bus,
    resultsSenderOnly: false,
    app: { runners: app.runners, registry: app.registry, db: app.db },
  });
  const abort = new AbortController();
  const received: { commandId: string; type: string; aggregateId: string }[] = [];
  const done = (async () => {
    for await (const command of service.commandsSent({ tenantId: "default" }, abort.signal)) received.push(command);
  })();
  return {
    queries,
    received,
    has: (aggregateId: string) => received.some((c) => c.aggregateId === aggregateId),
    async stop() {
      abort.abort();
      await done;
    },
  };
}

/** The console's results stream on its own bus and store connection, as another process would have it. */
function resultsOn(bus: ResultBus, db: Pick<Database, "sql">, app: TestApp["app"]) {
  const queries = new ConsoleQueries(db.sql);
  const service = new ConsoleService({
    queries,
    ops: new OpsQueries(db.sql),
    bus,
    resultsSenderOnly: false,
    app: { runners: app.runners, registry: app.registry, db: app.db },
  });
  const abort = new AbortController();
  const received: CommandResult[] = [];
  const done = (async () => {
    for await (const result of service.recentResults({ tenantId: "default" }, 10, abort.signal)) received.push(result);
  })();
  return {
    queries,
    received,
    reached: (aggregateId: string, stage: string) =>
      received.some((r) => r.aggregateId === aggregateId && r.stage === stage && r.scope === "STAGE"),
    async stop() {
      abort.abort();
      await done;
    },
  };
}

const open = (t: TestApp, id: string) =>
  t.app.gateway.sendAndWait(accountCommand("CreateAccount", id, { name: id }), { stage: "PROCESSED" });

describe.each(engines)("the console's live feed on %s", (engine) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(engine);
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
  });

  it("follows the bus's signal, and re-reads the store only when the bus asks for a resync", async () => {
    const quiet = new ResultBus();
    const feed = feedOn(quiet, t.app.db, t.app);
    try {
      const reads = vi.spyOn(feed.queries, "commands");
      const rereads = vi.spyOn(feed.queries, "sentSince");
      const { commandId } = await open(t, "unsignalled");
      // Stored and processed, but nothing told this feed's bus: a polling feed would find it.
      // Until a later command is announced and arrives, the feed reads the store for nothing
      // else: its first read is of that command alone.
      const { commandId: marker } = await open(t, "marker");
      quiet.announceSent([{ commandId: marker, tenantId: "default" }]);
      await waitUntil("the announced marker", () => feed.has("marker"), { timeoutMs: 30_000 });
      expect(feed.received.map((c) => c.commandId)).toEqual([marker]);
      expect(reads.mock.calls.map(([, ids]) => ids)).toEqual([[marker]]);
      expect(rereads).not.toHaveBeenCalled();
      quiet.resync();
      await waitUntil("the resync to bring it", () => feed.has("unsignalled"), { timeoutMs: 30_000 });
      // The bus's own signal (as SENT is published) is followed at once, each command once.
      quiet.announceSent([{ commandId, tenantId: "other-tenant" }]);
      const { commandId: next } = await open(t, "announced");
      quiet.announceSent([{ commandId: next, tenantId: "default" }]);
      await waitUntil("the announced command", () => feed.has("announced"), { timeoutMs: 30_000 });
      expect(feed.received.map((c) => c.commandId)).toEqual([marker, commandId, next]);
    } finally {
      await feed.stop();
    }
    // A feed that ends leaves nothing listening.
    expect(quiet.listenerCount).toBe(0);
  });

  it("streams the stored results of the newest commands, then those the bus carries for the commands it follows", async () => {
    const quiet = new ResultBus();
    const before = await open(t, "listed");
    const stream = resultsOn(quiet, t.app.db, t.app);
    try {
      // What is stored first: the newest commands' results, read once.
      await waitUntil("the stored results", () => stream.reached("listed", "PROCESSED"), { timeoutMs: 30_000 });
      // Without a sender restriction (AUTH_RESULTS_SENDER_ONLY off) the tenant is the whole
      // check: a command sent costs no store read of its own.
      const visibilityChecks = vi.spyOn(stream.queries, "commands");
      // A command the bus never announced is not followed; once announced, its results come as delivered.
      const later = await t.app.gateway.sendAndWait(accountCommand("CreateAccount", "later", { name: "later" }), {
        stage: "ALL",
      });
      const stored = async () => await new ResultStore(t.app.db.sql, 60_000).byCommand(later.commandId);
      quiet.deliver(await stored());
      quiet.announceSent([{ commandId: later.commandId, tenantId: "other-tenant" }]);
      quiet.deliver(await stored());
      expect(quiet.watches(later.commandId)).toBe(false);
      quiet.announceSent([{ commandId: later.commandId, tenantId: "default" }]);
      quiet.deliver(await stored());
      quiet.deliver(await stored()); // a re-read delivers them all again: each still comes once
      await waitUntil("the announced command's results", () => stream.reached("later", "SAGA_HANDLED"), {
        timeoutMs: 30_000,
      });
      const ids = stream.received.map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(stream.received.filter((r) => r.commandId === before.commandId).length).toBeGreaterThan(0);
      expect(visibilityChecks).not.toHaveBeenCalled();
      visibilityChecks.mockRestore();
    } finally {
      await stream.stop();
    }
    expect(quiet.listenerCount).toBe(0);
  });
});

describe("the console's live feed across processes on postgres", () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp("postgres");
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
  });

  it("carries commands another process accepted, by NOTIFY, and resyncs after a dropped connection", async () => {
    const other = await openDatabase(parseDatabaseUrl(t.db.url!, ""), { poolSize: 2 });
    const bus = new ResultBus();
    const signals = new CrossProcessSignals({
      transport: new PgSignalTransport(t.db.url!, other.sql),
      bus,
      results: new ResultStore(other.sql, 60_000),
      events: new EventLog(other.sql),
      logger,
    });
    await signals.start();
    const feed = feedOn(bus, other, t.app);
    let resyncs = 0;
    const off = bus.onResync(() => resyncs++);
    try {
      await waitUntil(
        "the other process's feed to carry an account",
        async () => {
          await open(t, `b-${feed.received.length}-${Date.now()}`);
          return feed.received.length > 0;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await open(t, "elsewhere");
      await waitUntil("the NOTIFY to bring it", () => feed.has("elsewhere"), { timeoutMs: 30_000 });

      signals.dropConnection();
      await waitUntil("the reconnected signals to ask for a resync", () => resyncs > 0, { timeoutMs: 30_000 });
      await open(t, "after-reconnect");
      await waitUntil("the feed to carry on", () => feed.has("after-reconnect"), { timeoutMs: 30_000 });
      expect(new Set(feed.received.map((c) => c.commandId)).size).toBe(feed.received.length);
    } finally {
      off();
      await feed.stop();
      await signals.stop();
      await other.close();
    }
  });

  it("streams the results another process stored, by NOTIFY", async () => {
    const other = await openDatabase(parseDatabaseUrl(t.db.url!, ""), { poolSize: 2 });
    const bus = new ResultBus();
    const signals = new CrossProcessSignals({
      transport: new PgSignalTransport(t.db.url!, other.sql),
      bus,
      results: new ResultStore(other.sql, 60_000),
      events: new EventLog(other.sql),
      logger,
    });
    await signals.start();
    const stream = resultsOn(bus, other, t.app);
    try {
      await waitUntil(
        "the other process's stream to carry a new account through every stage",
        async () => {
          const id = `r-${Date.now()}`;
          await open(t, id);
          return waitUntil("its last stage", () => stream.reached(id, "SAGA_HANDLED"), { timeoutMs: 5_000 }).then(
            () => true,
            () => false,
          );
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const ids = stream.received.map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      await stream.stop();
      await signals.stop();
      await other.close();
    }
    expect(bus.listenerCount).toBe(0);
  });
});

/** A promise settled from outside. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A stored result of a command, as far as the results stream looks at it. */
const resultOf = (commandId: string, stage: string): CommandResult =>
  ({
    id: `${commandId}-${stage}`,
    commandId,
    correlationId: commandId,
    tenantId: "default",
    stage,
    scope: "STAGE",
  }) as CommandResult;

describe("the console's results stream when the store fails", () => {
  it("leaves nothing listening on the bus after it failed, even for a re-read under way then", async () => {
    const bus = new ResultBus();
    const baseline = bus.listenerCount;
    const listing = deferred<ConsoleCommand[]>();
    const rereading = deferred<ConsoleCommand[]>();
    const caughtUp = vi.fn(async () => new Map<string, CommandResult[]>());
    const queries = {
      recentCommands: () => listing.promise,
      sentSince: () => rereading.promise,
      results: caughtUp,
      commands: async () => [],
    } as unknown as ConsoleQueries;
    const stream = recentResults(
      { queries, bus },
      { tenantId: "default", sender: undefined },
      10,
      new AbortController().signal,
    );
    const first = stream.next();
    await waitUntil("the stream to listen", () => bus.listenerCount > baseline, { timeoutMs: 30_000 });
    bus.resync(); // its re-read is under way when the stream fails
    listing.reject(new Error("the database went away"));
    await expect(first).rejects.toThrow("the database went away");
    rereading.resolve([{ commandId: "c-1" }, { commandId: "c-2" }] as ConsoleCommand[]);
    await waitUntil("the late re-read to finish", () => caughtUp.mock.calls.length > 0, { timeoutMs: 30_000 });
    expect(bus.listenerCount).toBe(baseline);
  });

  it("keeps streaming when a visibility check fails, and checks again at the next signal", async () => {
    const bus = new ResultBus();
    const checks = vi
      .fn<(tenantId: string, ids: readonly string[]) => Promise<ConsoleCommand[]>>()
      .mockRejectedValueOnce(new Error("the database went away"))
      .mockImplementation(async (_tenantId, ids) => ids.map((commandId) => ({ commandId }) as ConsoleCommand));
    const queries = {
      recentCommands: async () => [],
      sentSince: async () => [],
      results: async () => new Map<string, CommandResult[]>(),
      commands: checks,
    } as unknown as ConsoleQueries;
    const abort = new AbortController();
    const stream = recentResults({ queries, bus }, { tenantId: "default", sender: "dave" }, 10, abort.signal);
    try {
      const first = stream.next();
      await waitUntil("the stream to listen", () => bus.listenerCount > 0, { timeoutMs: 30_000 });
      bus.announceSent([{ commandId: "c-1", tenantId: "default" }]);
      await waitUntil("the first check to fail", () => checks.mock.calls.length > 0, { timeoutMs: 30_000 });
      bus.deliver([resultOf("c-1", "SENT")]);
      expect((await first).value).toEqual(resultOf("c-1", "SENT"));
      expect(checks).toHaveBeenCalledTimes(2);
    } finally {
      abort.abort();
      await stream.return(undefined);
    }
    expect(bus.listenerCount).toBe(0);
  });
});
