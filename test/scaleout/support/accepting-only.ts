/**
 * For the queue's process tests: a migrated PostgreSQL database of its own, and an instance over
 * it that only accepts commands (its worker never starts), so whoever processes them is another
 * process.
 */
import { type App, createApp } from "../../../src/app.ts";
import { loadConfig } from "../../../src/config.ts";
import { type Database, openDatabase } from "../../../src/store/database.ts";
import { parseDatabaseUrl } from "../../../src/store/database-url.ts";
import { migrate } from "../../../src/store/migrations.ts";
import { createPostgresDatabase } from "../../support/databases.ts";
import { tapes } from "./tape.ts";

export interface AcceptingOnly {
  url: string;
  db: Database;
  sender: App;
  close(): Promise<void>;
}

export async function openAcceptingOnly(): Promise<AcceptingOnly> {
  const { url, drop } = await createPostgresDatabase();
  const db = await openDatabase(parseDatabaseUrl(url, ""), { poolSize: 4 });
  await migrate(db.sql);
  const config = { ...loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" }), port: 0, host: "127.0.0.1" };
  const sender = await createApp({ config, database: db, contexts: [tapes] });
  return {
    url,
    db,
    sender,
    async close() {
      await sender.stop().catch(() => undefined);
      await db.close();
      await drop();
    },
  };
}
