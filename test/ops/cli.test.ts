/**
 * Every operations command of the CLI on both engines, run in-process through `runCli` (the
 * same parsing, output and exit codes as `npm run stageline -- …`): on PGlite through its folder
 * while no server holds it, on PostgreSQL beside a live server. Covers status, dead letters
 * (list, show, retry that fails and that succeeds, discard), prune, and export → import into an
 * empty database giving the same read models once the runners have caught up.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { defineContext } from "../../src/core/context.ts";
import { defineEventHandler } from "../../src/core/processors.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { idempotencyHits } from "../../src/ops/process-metrics.ts";
import { CheckpointStore } from "../../src/store/checkpoint-store.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { migrate } from "../../src/store/migrations.ts";
import { OpsQueries } from "../../src/store/ops-queries.ts";
import { accountCommand, FAST_RUNNER } from "../support/app.ts";
import { type CliRun, runCliCaptured } from "../support/cli.ts";
import { createPostgresDatabase, engines, type TestEngine } from "../support/databases.ts";

const waitLong = { timeout: 30_000, interval: 100 };

// An event handler that fails while `failing` is set: its event is parked, then retried.
let failing = true;
const handled: bigint[] = [];
const auditor = defineEventHandler({
  name: "Auditor",
  eventTypes: ["MoneyDeposited"],
  async handle(event) {
    if (failing) throw new Error("auditor is down");
    handled.push(event.position);
  },
});
const contexts = [banking, defineContext({ name: "ops", aggregates: [], processors: [auditor] })];

/** A database the CLI opens by configuration: a PGlite folder, or a PostgreSQL database. */
interface Target {
  env: NodeJS.ProcessEnv;
  open(): Promise<Database>;
  drop(): Promise<void>;
}

async function newTarget(engine: TestEngine): Promise<Target> {
  if (engine === "pglite") {
    const dataDir = await mkdtemp(join(tmpdir(), "stageline-cli-"));
    return {
      env: { NODE_ENV: "test", STAGELINE_DATA_DIR: dataDir },
      open: () => openDatabase({ engine: "pglite", dataDir }),
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  const { url, drop } = await createPostgresDatabase();
  return {
    env: { NODE_ENV: "test", DATABASE_URL: url },
    open: () => openDatabase(parseDatabaseUrl(url, ""), { poolSize: 8 }),
    drop,
  };
}

async function startApp(target: Target): Promise<{ app: App; db: Database }> {
  const db = await target.open();
  await migrate(db.sql);
  const config = { ...loadConfig(target.env), port: 0, runner: FAST_RUNNER };
  const app = await createApp({ config, database: db, contexts });
  await app.start();
  return { app, db };
}

const cli = (target: Target, ...argv: string[]): Promise<CliRun> => runCliCaptured(argv, target.env, contexts);

describe.each(engines)("the CLI on %s", (engine) => {
  let source: Target;
  /** PostgreSQL: the server that runs beside the CLI. PGlite: none (the folder is the CLI's). */
  let live: { app: App; db: Database } | undefined;
  let parkedAt: bigint;

  /** Runs `work` on the source database: the live server's connection, or the folder opened for it. */
  async function onSource<T>(work: (db: Database) => Promise<T>): Promise<T> {
    if (live) return work(live.db);
    const db = await source.open();
    try {
      return await work(db);
    } finally {
      await db.close();
    }
  }

  beforeAll(async () => {
    failing = true;
    source = await newTarget(engine);
    const running = await startApp(source);
    const { gateway } = running.app;
    for (const [id, balance] of [
      ["alice", 100],
      ["bob", 10],
    ] as const) {
      await gateway.sendAndWait(accountCommand("CreateAccount", id, { name: id, initialBalance: balance }), {
        stage: "ALL",
      });
    }
    await gateway.sendAndWait(accountCommand("Deposit", "bob", { amount: 5 }), { stage: "PROJECTED" });
    await gateway.sendAndWait(
      accountCommand("PrepareTransfer", "alice", { transferId: "t1", targetAccountId: "bob", amount: 30 }),
      { stage: "PROJECTED", chain: true },
    );
    await vi.waitFor(async () => {
      const transfer = await running.db.prisma.transferView.findFirst({ where: { id: "t1" } });
      expect(transfer?.status).toBe("COMPLETED");
      const dead = await new OpsQueries(running.db.sql).deadLetters("ops.Auditor");
      expect(dead).toHaveLength(1);
      parkedAt = dead[0]!.position;
      const lag = await new OpsQueries(running.db.sql).processorLag(running.app.registry.processors.map((p) => p.id));
      expect(lag.filter((p) => p.eventsBehind > 0)).toEqual([]);
    }, waitLong);
    if (engine === "postgres") {
      live = running;
    } else {
      await running.app.stop();
      await running.db.close();
    }
  }, 60_000);

  afterAll(async () => {
    await live?.app.stop();
    await live?.db.close();
    await source?.drop();
  });

  it("prints help with exit 0, and refuses unknown commands and options with exit 2", async () => {
    const help = await cli(source, "help");
    expect(help.code).toBe(0);
    for (const name of ["status", "dead-letters", "prune", "export", "import"]) expect(help.out).toContain(name);
    expect((await cli(source, "frobnicate")).code).toBe(2);
    const bad = await cli(source, "status", "--verbose");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("USAGE");
    expect((await cli(source, "dead-letters", "show", "ops.Auditor", "x1")).code).toBe(2);
  });

  it("status lists every processor with its checkpoint, lag and dead letters", async () => {
    const { code, out } = await cli(source, "status", "--json");
    expect(code).toBe(0);
    const report = JSON.parse(out) as {
      head: { events: number };
      migrations: { pending: string[] };
      deadLetters: number;
      processors: {
        processor: string;
        kind: string;
        eventsBehind: number;
        deadLetters: number;
        checkpoint: { position: string };
      }[];
    };
    expect(report.migrations.pending).toEqual([]);
    expect(report.deadLetters).toBe(1);
    const byName = new Map(report.processors.map((p) => [p.processor, p]));
    expect(byName.get("ops.Auditor")).toMatchObject({ kind: "EVENT_HANDLER", eventsBehind: 0, deadLetters: 1 });
    expect(byName.get("banking.AccountView")).toMatchObject({ kind: "PROJECTION", eventsBehind: 0, deadLetters: 0 });
    expect(byName.get("banking.TransferSaga")?.kind).toBe("SAGA");
    expect(Number(byName.get("banking.AccountView")!.checkpoint.position)).toBeGreaterThan(0);
    const table = await cli(source, "status");
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/PROCESSOR\s+KIND\s+POSITION\s+BEHIND/);
    expect(table.out).toContain("ops.Auditor");
  });

  it("lists and shows dead letters; a retry that fails again keeps it; one that succeeds removes it", async () => {
    const list = await cli(source, "dead-letters", "list", "--json");
    expect(list.code).toBe(0);
    expect(JSON.parse(list.out)).toEqual([
      expect.objectContaining({ processor: "ops.Auditor", position: String(parkedAt), eventType: "MoneyDeposited" }),
    ]);
    const show = await cli(source, "dead-letters", "show", "ops.Auditor", String(parkedAt));
    expect(show.code).toBe(0);
    expect(JSON.parse(show.out)).toMatchObject({
      error: "auditor is down",
      event: { type: "MoneyDeposited", position: String(parkedAt) },
    });

    const again = await cli(source, "dead-letters", "retry", "ops.Auditor", String(parkedAt));
    expect(again.code).toBe(1);
    expect(again.err).toContain("DEAD_LETTER_RETRY_FAILED");
    expect(JSON.parse((await cli(source, "dead-letters", "list", "--json")).out)).toHaveLength(1);

    failing = false;
    const retried = await cli(source, "dead-letters", "retry", "ops.Auditor", String(parkedAt));
    expect(retried.err).toBe("");
    expect(retried.code).toBe(0);
    expect(handled).toContain(parkedAt);
    expect(JSON.parse((await cli(source, "dead-letters", "list", "--json")).out)).toEqual([]);

    const missing = await cli(source, "dead-letters", "discard", "ops.Auditor", String(parkedAt));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("DEAD_LETTER_NOT_FOUND");
  });

  it("discards a dead letter", async () => {
    await onSource(async (db) => {
      const [event] = (await db.sql.query<{ position: string }>("SELECT position::text FROM events LIMIT 1"))!;
      await db.sql.query(
        `INSERT INTO dead_letters (processor_name, position, transaction_id, event_type, error, attempts)
         VALUES ('ops.Auditor', $1::bigint, 0, 'AccountCreated', 'x', 1)`,
        [event!.position],
      );
      return event;
    }).then(async (event) => {
      const discarded = await cli(source, "dead-letters", "discard", "ops.Auditor", event!.position);
      expect(discarded.code).toBe(0);
    });
    expect(JSON.parse((await cli(source, "dead-letters", "list", "--json")).out)).toEqual([]);
  });

  it("prunes idempotency keys and results past retention, and only those", async () => {
    const before = await onSource(async (db) => {
      const [commands] = await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM commands");
      const [results] = await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM command_results");
      // Two commands (and all their results) expire; the rest stay within retention.
      const expired = await db.sql.query<{ command_id: string }>(
        `UPDATE commands SET expires_at = now() - interval '1 hour'
          WHERE command_id IN (SELECT command_id FROM commands WHERE status = 'DONE' ORDER BY created_at LIMIT 2)
          RETURNING command_id`,
      );
      const [expiredResults] = await db.sql.query<{ n: number }>(
        `WITH x AS (UPDATE command_results SET expires_at = now() - interval '1 hour'
                     WHERE command_id = ANY($1::uuid[]) RETURNING 1) SELECT count(*)::int AS n FROM x`,
        [expired.map((r) => r.command_id)],
      );
      return { commands: commands!.n, results: results!.n, expiredResults: expiredResults!.n };
    });
    const pruned = await cli(source, "prune", "--json");
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.out)).toEqual({ commands: 2, results: before.expiredResults });
    await onSource(async (db) => {
      const [commands] = await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM commands");
      const [results] = await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM command_results");
      expect(commands!.n).toBe(before.commands - 2);
      expect(results!.n).toBe(before.results - before.expiredResults);
    });
  });

  // Catches import no longer starting sagas after the imported events (verified: the copy's
  // TransferSaga then sends the transfer again and the read models differ).
  it("export → import into an empty database gives the same read models, and sends no saga command again", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stageline-export-"));
    const file = join(dir, "log.ndjson");
    const target = await newTarget(engine);
    try {
      const exported = await cli(source, "export", "--out", file, "--json");
      expect(exported.err).not.toContain(":");
      expect(exported.code).toBe(0);
      const lines = (await readFile(file, "utf8")).trim().split("\n");
      const sourceEvents = await onSource(async (db) => (await new OpsQueries(db.sql).head()).events);
      expect(lines).toHaveLength(1 + sourceEvents);
      expect(JSON.parse(exported.out)).toEqual({ events: sourceEvents, file });

      // A damaged file is refused whole: nothing is stored.
      const broken = join(dir, "broken.ndjson");
      await writeFile(broken, [...lines.slice(0, 4), '{"position":"x"}', ...lines.slice(4)].join("\n"));
      const refused = await cli(target, "import", broken);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain("IMPORT_INVALID");
      expect(refused.err).toContain("Line 5");

      expect((await cli(target, "import", join(dir, "missing.ndjson"))).err).toContain("IMPORT_INVALID: Cannot read");
      const imported = await cli(target, "import", file, "--json");
      expect(imported.err).toContain(`${sourceEvents}/${sourceEvents} events`); // the progress bar, finished
      expect(imported.code).toBe(0);
      expect(JSON.parse(imported.out)).toMatchObject({ events: sourceEvents, skippedProcessors: expect.any(Array) });
      const twice = await cli(target, "import", file);
      expect(twice.code).toBe(1);
      expect(twice.err).toContain("IMPORT_TARGET_NOT_EMPTY");

      const copy = await startApp(target);
      try {
        await vi.waitFor(async () => {
          const lag = await new OpsQueries(copy.db.sql).processorLag(copy.app.registry.processors.map((p) => p.id));
          expect(lag.filter((p) => p.eventsBehind > 0)).toEqual([]);
        }, waitLong);
        const readModels = (db: Database) =>
          Promise.all([
            db.prisma.accountView.findMany({ orderBy: { key: "asc" } }),
            db.prisma.transferView.findMany({ orderBy: { preparedPosition: "asc" } }),
          ]);
        const [accounts, transfers] = await readModels(copy.db);
        expect(accounts.length).toBe(2);
        expect(transfers.length).toBe(1);
        expect([accounts, transfers]).toEqual(await onSource(readModels));
        // The saga did not run again over the imported transfer: no command was sent on the copy.
        expect(await copy.db.prisma.command.count()).toBe(0);
        // New commands go on from the imported positions.
        const next = await copy.app.gateway.sendAndWait(accountCommand("Deposit", "bob", { amount: 1 }));
        expect(next.succeeded).toBe(true);
        expect(next.positions[0]).toBeGreaterThan(BigInt(JSON.parse(lines.at(-1)!).position));
      } finally {
        await copy.app.stop();
        await copy.db.close();
      }
    } finally {
      await target.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Catches: a replay moving the checkpoint without --yes, forward, or for a projection; the
  // checkpoint not placed just before the event (each seen to fail).
  it("replay moves a saga's checkpoint back with --yes, and refuses unknown processors, projections and moves forward", async () => {
    const saga = "banking.TransferSaga";
    const [prepared] = await onSource((db) =>
      db.sql.query<{ position: string; transaction_id: string }>(
        "SELECT position::text, transaction_id::text FROM events WHERE type = 'TransferPrepared'",
      ),
    );
    const checkpoint = () => onSource((db) => new CheckpointStore(db.sql).load(saga));
    const before = await checkpoint();

    const unknown = await cli(source, "replay", "nope.Nothing", "--from", prepared!.position, "--yes");
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^UNKNOWN_PROCESSOR: /);
    const projection = await cli(source, "replay", "banking.AccountView", "--from", "0", "--yes");
    expect(projection.code).toBe(1);
    expect(projection.err).toMatch(/^REPLAY_PROJECTION: /);
    const missing = await cli(source, "replay", saga, "--from", "999999", "--yes");
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^POSITION_NOT_FOUND: /);
    expect((await cli(source, "replay", saga)).code).toBe(2);
    const unconfirmed = await cli(source, "replay", saga, "--from", prepared!.position);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.err).toMatch(/^CONFIRMATION_REQUIRED: Would move banking.TransferSaga/);
    expect(await checkpoint()).toEqual(before);

    const done = await cli(source, "replay", saga, "--from", prepared!.position, "--yes", "--json");
    expect(done.code).toBe(0);
    expect(JSON.parse(done.out)).toMatchObject({ processor: saga, applied: true, replayFrom: prepared!.position });
    if (!live) {
      // Nothing runs beside the CLI: the checkpoint stands just before the event, in reading order.
      expect(await checkpoint()).toEqual({
        transactionId: BigInt(prepared!.transaction_id),
        position: BigInt(prepared!.position) - 1n,
      });
      const forward = await cli(source, "replay", saga, "--from", String(before.position), "--yes");
      expect(forward.code).toBe(1);
      expect(forward.err).toMatch(/^REPLAY_FORWARD: /);
      return;
    }
    // Beside a live server: its runner reads again at its next batch; the saga's commands are
    // found again by their request IDs, so bob is not credited twice.
    const bob = () => live!.db.prisma.accountView.findFirst({ where: { id: "bob" } });
    const balance = (await bob())?.balance;
    const hits = async () => (await idempotencyHits.get()).values.reduce((n, v) => n + v.value, 0);
    const hitsBefore = await hits();
    await live.app.gateway.sendAndWait(accountCommand("Deposit", "alice", { amount: 1 }), { stage: "PROCESSED" });
    await vi.waitFor(async () => {
      expect((await checkpoint()).position).toBeGreaterThan(before.position);
      // The saga sent its transfer's commands again: each was answered from the first.
      expect(await hits()).toBeGreaterThanOrEqual(hitsBefore + 2);
    }, waitLong);
    expect((await bob())?.balance).toBe(balance);
  });
});

describe("the stageline entry point", () => {
  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      child.stderr.on("data", (chunk) => {
        err += chunk;
      });
      child.on("close", (code) => resolve({ code, err }));
    });

  it("exits 2 on a usage mistake and 1 with the error's code when the work fails", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "stageline-entry-"));
    try {
      const usage = await run(["frobnicate"], { STAGELINE_DATA_DIR: dataDir });
      expect(usage.code).toBe(2);
      expect(usage.err).toContain("Unknown command frobnicate");
      // A folder nobody migrated: the CLI says so instead of a driver error.
      const failed = await run(["status"], { STAGELINE_DATA_DIR: dataDir, DATABASE_URL: "" });
      expect(failed.err).toContain("DATABASE_NOT_MIGRATED");
      expect(failed.code).toBe(1);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
