import { describe, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { type Config, loadConfig } from "../../src/config.ts";
import { retryFailedCommand } from "../../src/gateway/failed-commands.ts";
import { CommandQueue } from "../../src/store/command-queue.ts";
import type { StoredCommand } from "../../src/store/command-store.ts";
import { OpsQueries } from "../../src/store/ops-queries.ts";
import { ResultStore } from "../../src/store/result-store.ts";
import { type CliRun, runCliCaptured } from "../support/cli.ts";
import { engines, type TestDatabase, type TestEngine } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";
import { useQueueInstances } from "./support/queue-instances.ts";
import { append, TAPE_SQL, tapes } from "./support/tape.ts";

const MAX_FAILURES = 3;

const config: Config = {
  ...loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" }),
  port: 0,
  host: "127.0.0.1",
  claimTtlMs: 1_000,
  commandMaxFailures: MAX_FAILURES,
  runner: { batchSize: 100, pollMs: 50, maxAttempts: 3, onPoison: "dead-letter" },
  scaleOut: { leaseTtlMs: 1_000, signals: "notify" },
};

describe.each(engines)("a command the queue gives up on, on %s", (engine: TestEngine) => {
  let db: TestDatabase;
  const instances = useQueueInstances(engine, config);
  const instance = instances.instance;

  /** The worker's processor throws for one command (tape, number) while `broken.now` holds. */
  function breakProcessing(app: App, tape: string, n: number): { now: boolean; attempts: number } {
    const broken = { now: true, attempts: 0 };
    const process = app.processor.process.bind(app.processor);
    app.processor.process = async (command: StoredCommand) => {
      if (broken.now && command.aggregateId === tape && command.data.n === n) {
        broken.attempts++;
        throw new Error("the disk holding this aggregate is full");
      }
      return process(command);
    };
    return broken;
  }

  const numbers = async (tape: string) => (await db.sql.query<{ n: number }>(TAPE_SQL, [tape])).map((r) => r.n);
  const row = async (commandId: string) =>
    (
      await db.sql.query<{ status: string; failures: number; last_error: string | null }>(
        "SELECT status, failures, last_error FROM commands WHERE command_id = $1",
        [commandId],
      )
    )[0]!;

  const cli = (...argv: string[]): Promise<CliRun> =>
    runCliCaptured(argv, { NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: db.url! }, [tapes]);

  it("ends FAILED with a COMMAND_FAILED answer after its failures; the aggregate goes on; a retry processes it once fixed", {
    timeout: 120_000,
  }, async () => {
    db = await instances.open();
    // PostgreSQL: the waiter's instance runs no worker; the answer comes from the other process.
    const sender = engine === "postgres" ? await instance(false) : await instance(true);
    const worker = engine === "postgres" ? await instance(true) : sender;
    const broken = breakProcessing(worker, "sick", 1);

    const first = await sender.gateway.sendAndWait(append("sick", 1), { stage: "SENT" });
    const second = await sender.gateway.sendAndWait(append("sick", 2), { stage: "SENT" });
    await sender.gateway.sendAndWait(append("well", 1), { stage: "SENT" });

    const answer = await sender.gateway.waitFor("t", first.commandId, { stage: "PROCESSED", timeoutMs: 60_000 });
    expect(answer).toMatchObject({ stage: "PROCESSED", succeeded: false, errorCode: "COMMAND_FAILED" });
    expect(broken.attempts).toBe(MAX_FAILURES);
    expect(await row(first.commandId)).toEqual({
      status: "FAILED",
      failures: MAX_FAILURES,
      last_error: "the disk holding this aggregate is full",
    });
    // A later stage answers the same failure, as for a refused command.
    const later = await sender.gateway.waitFor("t", first.commandId, { stage: "PROJECTED", timeoutMs: 10_000 });
    expect(later).toMatchObject({ succeeded: false, errorCode: "COMMAND_FAILED" });

    // The next command of the aggregate was not held back by it.
    const next = await sender.gateway.waitFor("t", second.commandId, { stage: "PROCESSED", timeoutMs: 60_000 });
    expect(next).toMatchObject({ succeeded: true, errorCode: "Ok" });
    await waitUntil("the well tape processed", async () => (await numbers("well")).length === 1, { timeoutMs: 30_000 });
    expect(await numbers("sick")).toEqual([2]);

    // Past the retention window its answers stay while it is set aside (it keeps its request
    // ID: a client retrying that key is answered from them); other commands' go.
    const resultsOf = async (commandId: string) =>
      (await db.sql.query("SELECT id FROM command_results WHERE command_id = $1", [commandId])).length;
    const before = await resultsOf(first.commandId);
    await db.sql.query("UPDATE command_results SET expires_at = now() - interval '1 second'");
    await new ResultStore(db.sql, 60_000).purgeExpired();
    expect(await resultsOf(first.commandId)).toBe(before);
    const expired = await db.sql.query("SELECT id FROM command_results WHERE expires_at < now() AND command_id <> $1", [
      first.commandId,
    ]);
    expect(expired).toEqual([]);
    const again = await sender.gateway.waitFor("t", first.commandId, { stage: "PROCESSED", timeoutMs: 10_000 });
    expect(again).toMatchObject({ succeeded: false, errorCode: "COMMAND_FAILED" });

    // status: nothing pending, one given up.
    const status = await new OpsQueries(db.sql).commandQueue();
    expect(status).toMatchObject({ pending: 0, failingCount: 0, givenUp: 1, claimed: [] });

    // The failure is fixed; the operator lists the command and retries it: processed once, on
    // the state its aggregate is at now.
    broken.now = false;
    if (engine === "postgres") {
      const list = await cli("failed-commands", "list", "--json");
      expect(list.code).toBe(0);
      expect(JSON.parse(list.out)).toEqual([
        expect.objectContaining({ commandId: first.commandId, aggregate: "Tape/sick", failures: MAX_FAILURES }),
      ]);
      const table = await cli("status");
      expect(table.out).toContain("1 given up");
      const retried = await cli("failed-commands", "retry", first.commandId);
      expect(retried.err).toBe("");
      expect(retried.code).toBe(0);
      const again = await cli("failed-commands", "retry", first.commandId);
      expect(again.code).toBe(1);
      expect(again.err).toContain("FAILED_COMMAND_NOT_FOUND");
    } else {
      await retryFailedCommand({ sql: db.sql, queue: new CommandQueue(db.sql) }, first.commandId);
      await expect(
        retryFailedCommand({ sql: db.sql, queue: new CommandQueue(db.sql) }, first.commandId),
      ).rejects.toMatchObject({ code: "FAILED_COMMAND_NOT_FOUND" });
    }
    await waitUntil("the retried command processed", async () => (await numbers("sick")).length === 2, {
      timeoutMs: 30_000,
    });
    expect(await numbers("sick")).toEqual([2, 1]);
    expect(await row(first.commandId)).toMatchObject({ status: "DONE", failures: 0 });
    const results = await db.sql.query<{ stage: string; succeeded: boolean; error_code: string }>(
      "SELECT stage, succeeded, error_code FROM command_results WHERE command_id = $1 AND stage = 'PROCESSED'",
      [first.commandId],
    );
    // The give-up answer was taken back with the retry: the one PROCESSED result is the real one.
    expect(results).toEqual([{ stage: "PROCESSED", succeeded: true, error_code: "Ok" }]);
    expect(broken.attempts).toBe(MAX_FAILURES);
  });

  it("does not count the database going away toward giving up: the command waits the outage out", {
    timeout: 120_000,
  }, async () => {
    db = await instances.open();
    const app = await instance(true);
    let attempts = 0;
    const process = app.processor.process.bind(app.processor);
    app.processor.process = async (command: StoredCommand) => {
      if (command.aggregateId === "outage" && attempts < MAX_FAILURES * 2) {
        attempts++;
        throw Object.assign(new Error("Connection terminated unexpectedly"), { code: "ECONNRESET" });
      }
      return process(command);
    };
    const sent = await app.gateway.sendAndWait(append("outage", 1), { stage: "SENT" });
    const answer = await app.gateway.waitFor("t", sent.commandId, { stage: "PROCESSED", timeoutMs: 90_000 });
    expect(answer).toMatchObject({ succeeded: true, errorCode: "Ok" });
    expect(attempts).toBe(MAX_FAILURES * 2);
    expect(await row(sent.commandId)).toMatchObject({ status: "DONE", failures: 0 });
    expect(await numbers("outage")).toEqual([1]);
  });

  it("status shows the pending, the claimed by holder, the oldest age, the failing and the given up", {
    timeout: 60_000,
  }, async () => {
    db = await instances.open();
    // Accepts only: nothing is processed, the rows are set by hand as workers would leave them.
    const sender = await instance(false);
    const sent: string[] = [];
    for (const [tape, n] of [
      ["a", 1],
      ["b", 1],
      ["c", 1],
      ["d", 1],
    ] as const) {
      sent.push((await sender.gateway.sendAndWait(append(tape, n), { stage: "SENT" })).commandId);
    }
    await db.sql.query(`UPDATE commands SET created_at = now() - interval '90 seconds' WHERE command_id = $1`, [
      sent[0],
    ]);
    await db.sql.query(
      `UPDATE commands SET claimed_by = 'host:1:x', claimed_until = clock_timestamp() + interval '1 hour'
        WHERE command_id = ANY($1::uuid[])`,
      [[sent[0], sent[1]]],
    );
    await db.sql.query(
      `UPDATE commands SET failures = 4, last_error = 'connection reset', claimed_until = clock_timestamp() + interval '1 hour'
        WHERE command_id = $1`,
      [sent[2]],
    );
    await db.sql.query(`UPDATE commands SET status = 'FAILED', failures = 10 WHERE command_id = $1`, [sent[3]]);

    const status = await new OpsQueries(db.sql).commandQueue();
    expect(status).toMatchObject({
      pending: 3,
      claimed: [{ holder: "host:1:x", commands: 2 }],
      failing: [{ commandId: sent[2], aggregate: "Tape/c", failures: 4, lastError: "connection reset" }],
      failingCount: 1,
      givenUp: 1,
    });
    expect(status.oldestPendingSeconds).toBeGreaterThanOrEqual(90);
  });
});
