/**
 * Instances sharing one test database, as the queue's tests build them: on PostgreSQL each with
 * its own pool (a process of its own, but for the event loop), on PGlite the one database. Closed
 * after each test.
 */
import { afterEach } from "vitest";
import { type App, createApp } from "../../../src/app.ts";
import type { Config } from "../../../src/config.ts";
import { openDatabase } from "../../../src/store/database.ts";
import { parseDatabaseUrl } from "../../../src/store/database-url.ts";
import { openTestDatabase, type TestDatabase, type TestEngine } from "../../support/databases.ts";
import { tapes } from "./tape.ts";

export function useQueueInstances(engine: TestEngine, config: Config) {
  let db: TestDatabase | undefined;
  let apps: App[] = [];

  afterEach(async () => {
    for (const app of apps) {
      await app.stop().catch(() => undefined);
      if (app.db !== db) await app.db.close().catch(() => undefined);
    }
    apps = [];
    await db?.close();
    db = undefined;
  });

  return {
    /** This test's database (closed after it). */
    async open(): Promise<TestDatabase> {
      db = await openTestDatabase(engine);
      return db;
    },
    /** An instance; `worker: false` only accepts commands (its queue worker and runners never start). */
    async instance(worker: boolean): Promise<App> {
      if (!db) throw new Error("open() the test's database first");
      const database = engine === "postgres" ? await openDatabase(parseDatabaseUrl(db.url!, ""), { poolSize: 6 }) : db;
      const app = await createApp({ config, database, contexts: [tapes] });
      if (worker) await app.start();
      apps.push(app);
      return app;
    },
  };
}
