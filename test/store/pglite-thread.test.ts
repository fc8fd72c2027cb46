/**
 * PGlite in its worker thread (src/store/pglite-thread.ts, pglite-worker.js): the main thread's
 * event loop keeps turning while PGlite works, a folder keeps what was committed across a
 * restart, and a connection lost inside a transaction leaves nothing of it behind.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { LOG_START } from "../../src/core/messages.ts";
import { openDatabase } from "../../src/store/database.ts";
import { EventLog } from "../../src/store/event-log.ts";
import { migrate } from "../../src/store/migrations.ts";
import { startPgliteThread } from "../../src/store/pglite-thread.ts";

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe("PGlite in a worker thread", () => {
  it("keeps the main thread's timers firing while one statement runs", async () => {
    const db = await openDatabase({ engine: "pglite", dataDir: "memory://" });
    try {
      await db.sql.query("SELECT 1"); // the connection is open: the next statement goes at once
      let answered = false;
      // One statement that keeps PGlite busy for seconds of wall-clock time. On the main thread
      // it would be one synchronous WASM call: no timer could fire until it returned.
      const statement = db.sql.query("SELECT pg_sleep(5)").then(() => {
        answered = true;
      });
      // Timers chained one after the other, each set only once the one before fired: on a
      // blocked event loop none of them could fire before the answer.
      const pendingAtEachTimer: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        pendingAtEachTimer.push(!answered);
      }
      await statement;
      expect(pendingAtEachTimer).toEqual([true, true, true]);
      expect(answered).toBe(true);
    } finally {
      await db.close();
    }
  });

  it("keeps what was committed in a folder across a restart", { timeout: 120_000 }, async () => {
    const folder = mkdtempSync(join(tmpdir(), "stageline-pglite-"));
    folders.push(folder);
    const stream = { tenantId: "t1", aggregateName: "Account", aggregateId: "restart-1" };
    const metadata = {
      commandId: "00000000-0000-7000-8000-000000000001",
      requestId: "req-restart",
      correlationId: "00000000-0000-7000-8000-000000000001",
      causationId: "00000000-0000-7000-8000-000000000001",
    };

    const first = await openDatabase({ engine: "pglite", dataDir: folder });
    await migrate(first.sql);
    await new EventLog(first.sql).append(stream, 0, [{ type: "Opened", data: { balance: 7 } }], metadata);
    await first.prisma.$queryRawUnsafe("SELECT 1"); // Prisma's adapter shares the connection
    await first.close();

    const second = await openDatabase({ engine: "pglite", dataDir: folder });
    try {
      await migrate(second.sql); // already applied: nothing to do, nothing lost
      const events = await new EventLog(second.sql).readStream(stream);
      expect(events.map((e) => [e.type, e.data, e.version])).toEqual([["Opened", { balance: 7 }, 1]]);
      const { events: all } = await new EventLog(second.sql).readAll(LOG_START, 10);
      expect(all).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it("rolls back a transaction whose connection was lost, before another connection's next statement", async () => {
    const thread = await startPgliteThread("memory://");
    // A second connection made the way the pool makes its own, open before the first one's
    // transaction starts (the pool holds one connection; a replacement overlaps like this).
    const other = new pg.Client((thread.pool as unknown as { options: pg.ClientConfig }).options);
    try {
      await thread.pool.query("CREATE TABLE t (n int)");
      await other.connect();
      const client = await thread.pool.connect();
      await client.query("BEGIN");
      await client.query("INSERT INTO t VALUES (1)");
      client.release(true); // destroys the connection with its transaction open

      // One PGlite session: had that transaction stayed open, its own insert would show here.
      const after = await other.query<{ n: number }>("SELECT n FROM t");
      expect(after.rows).toEqual([]);
    } finally {
      await other.end();
      await thread.close();
    }
  });
});
