/**
 * Each test file gets fresh databases: an in-memory PGlite, and a new database on the test
 * PostgreSQL server (dropped afterwards). `engines` is what `describe.each` runs over.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { migrate } from "../../src/store/migrations.ts";
import { perSuite } from "./per-suite.ts";

export const engines = ["pglite", "postgres"] as const;
export type TestEngine = (typeof engines)[number];

export interface TestDatabase extends Database {
  /** postgres only: the URL of this test's own database. */
  url?: string;
}

/** A new, empty database on the test server; returns its URL and a drop function. */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = inject("postgresUrl");
  const name = `stageline_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export async function openTestDatabase(
  engine: TestEngine,
  options: { migrate?: boolean; poolSize?: number } = {},
): Promise<TestDatabase> {
  if (engine === "pglite") {
    const db = await openDatabase({ engine: "pglite", dataDir: "memory://" });
    if (options.migrate !== false) await migrate(db.sql);
    return db;
  }
  const { url, drop } = await createPostgresDatabase();
  const db = await openDatabase(parseDatabaseUrl(url, ""), { poolSize: options.poolSize ?? 30 });
  if (options.migrate !== false) await migrate(db.sql);
  return {
    ...db,
    url,
    async close() {
      await db.close();
      await drop();
    },
  };
}

/** A fresh database for the whole suite (`describe`), closed after it (see per-suite.ts). */
export const useTestDatabase = (
  engine: TestEngine,
  options: Parameters<typeof openTestDatabase>[1] = {},
): TestDatabase =>
  perSuite(
    () => openTestDatabase(engine, options),
    (db) => db.close(),
  );
