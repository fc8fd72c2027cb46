/**
 * The command queue every process shares (src/store/command-queue.ts), on both engines: on
 * PostgreSQL three instances (each with its own pool, as separate processes would have) of which
 * one only accepts commands, so everything it accepted is taken by the others; on PGlite one
 * instance (one process by nature). Asynchronous commands on many aggregates keep their order
 * per aggregate; a poison command (one whose commit always throws) holds back its own aggregate
 * only; a claim left by a dead process holds its aggregate until it expires, and then the head
 * is taken again first. (Real processes killed with SIGKILL: command-queue-crash.test.ts.)
 */
import { describe, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { type Config, loadConfig } from "../../src/config.ts";
import type { SendRequest } from "../../src/gateway/gateway.ts";
import { engines, type TestDatabase, type TestEngine } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";
import { useQueueInstances } from "./support/queue-instances.ts";
import { append, TAPE_SQL } from "./support/tape.ts";

const config: Config = {
  ...loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" }),
  port: 0,
  host: "127.0.0.1",
  claimTtlMs: 1_000,
  runner: { batchSize: 100, pollMs: 50, maxAttempts: 3, onPoison: "dead-letter" },
  scaleOut: { leaseTtlMs: 1_000, signals: "off" },
};

interface CommandRow {
  n: number;
  status: string;
  claimed_by: string | null;
  failures: number;
  last_error: string | null;
}

describe.each(engines)("the shared command queue on %s", (engine: TestEngine) => {
  let db: TestDatabase;
  const instances = useQueueInstances(engine, config);
  const instance = instances.instance;

  const send = async (via: App, request: SendRequest) => {
    const sent = await via.gateway.sendAndWait(request, { stage: "SENT" });
    expect(sent.errorCode).toBe("Ok");
  };
  const numbers = async (tape: string) => (await db.sql.query<{ n: number }>(TAPE_SQL, [tape])).map((r) => r.n);
  const commandsOf = (tape: string) =>
    db.sql.query<CommandRow>(
      `SELECT (body->>'n')::int AS n, status, claimed_by, failures, last_error FROM commands
        WHERE aggregate_name = 'Tape' AND aggregate_id = $1 ORDER BY created_at, command_id`,
      [tape],
    );

  it("keeps each aggregate's order, taken by any instance; a poison command holds back only its own aggregate", {
    timeout: 120_000,
  }, async () => {
    db = await instances.open();
    // PostgreSQL: the first instance only accepts, so the others must take everything it accepted.
    const senders = engine === "postgres" ? [await instance(false), await instance(true), await instance(true)] : [];
    if (engine === "pglite") senders.push(await instance(true));

    const TAPES = ["a", "b", "c", "d", "e", "f"];
    const PER_TAPE = 8;
    let turn = 0;
    await Promise.all([
      ...TAPES.map(async (tape) => {
        // One after the other per tape (their order is the order sent), the tapes at once.
        for (let n = 1; n <= PER_TAPE; n++) await send(senders[turn++ % senders.length]!, append(tape, n));
      }),
      (async () => {
        await send(senders[0]!, append("bad", 1));
        await send(senders[0]!, append("bad", 2, { poison: true }));
        for (let n = 3; n <= 5; n++) await send(senders[turn++ % senders.length]!, append("bad", n));
      })(),
    ]);

    await waitUntil(
      "every good tape's commands processed, and the poison command tried twice",
      async () => {
        const done = await db.sql.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM commands WHERE aggregate_id <> 'bad' AND status = 'DONE'",
        );
        const poison = (await commandsOf("bad"))[1]!;
        return done[0]!.n === TAPES.length * PER_TAPE && poison.failures >= 2;
      },
      { timeoutMs: 60_000 },
    );
    for (const tape of TAPES) expect(await numbers(tape)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    // The poison command is PENDING with its failures and error kept; those behind it were never taken.
    expect(await numbers("bad")).toEqual([1]);
    const bad = await commandsOf("bad");
    expect(bad.map((c) => c.status)).toEqual(["DONE", "PENDING", "PENDING", "PENDING", "PENDING"]);
    expect(bad[1]!.last_error).toMatch(/BigInt/);
    expect(bad.slice(2).map((c) => [c.claimed_by, c.failures])).toEqual([
      [null, 0],
      [null, 0],
      [null, 0],
    ]);

    if (engine === "postgres") {
      // Everything was taken by the two instances that run a worker, never by the one that accepted most.
      const takers = await db.sql.query<{ claimed_by: string | null }>(
        "SELECT DISTINCT claimed_by FROM commands WHERE status = 'DONE'",
      );
      const workers = new Set(senders.slice(1).map((a) => a.leases!.owner));
      for (const { claimed_by } of takers) expect(workers.has(claimed_by!)).toBe(true);
    }
  });

  it("a claim left by a dead process holds its aggregate until it expires; then its head goes first", {
    timeout: 120_000,
  }, async () => {
    db = await instances.open();
    // Accepted while no worker runs anywhere: all four wait in the queue.
    const accepting = await instance(false);
    for (let n = 1; n <= 4; n++) await send(accepting, append("held", n));
    // A process claimed the head and died: its claim is still live for an hour.
    const claimed = await db.sql.query(
      `UPDATE commands SET claimed_by = 'dead-host:1:gone', claimed_until = clock_timestamp() + interval '1 hour'
        WHERE aggregate_id = 'held' AND (body->>'n')::int = 1 RETURNING 1`,
    );
    expect(claimed).toHaveLength(1);

    const worker = engine === "postgres" ? await instance(true) : accepting;
    if (worker === accepting) await worker.start();
    // A later command on another aggregate is processed: the worker has claimed past the dead claim.
    await send(worker, append("other", 1));
    await waitUntil("the other aggregate's command processed", async () => (await numbers("other")).length === 1, {
      timeoutMs: 30_000,
    });
    expect(await numbers("held")).toEqual([]);
    expect((await commandsOf("held")).map((c) => c.status)).toEqual(["PENDING", "PENDING", "PENDING", "PENDING"]);

    // The dead claim runs out: the head is taken again, and the rest follow in order.
    await db.sql.query("UPDATE commands SET claimed_until = clock_timestamp() WHERE claimed_by = 'dead-host:1:gone'");
    await waitUntil("the held aggregate's commands processed", async () => (await numbers("held")).length === 4, {
      timeoutMs: 30_000,
    });
    expect(await numbers("held")).toEqual([1, 2, 3, 4]);
    const head = (await commandsOf("held"))[0]!;
    expect(head.claimed_by).not.toBe("dead-host:1:gone");
    expect(head.status).toBe("DONE");
  });
});
