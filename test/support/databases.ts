/**
 * Each test file gets fresh databases: an in-memory PGlite, and a new database on the test
 * PostgreSQL server (dropped afterwards), both copies of the ones the global setup made
 * (templates.ts). `engines` is what `describe.each` runs over.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import pg from "pg";
import { inject } from "vitest";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { perSuite } from "./per-suite.ts";

export const engines = ["pglite", "postgres"] as const;
export type TestEngine = (typeof engines)[number];

export interface TestDatabase extends Database {
  /** postgres only: the URL of this test's own database. */
  url?: string;
}

/**
 * A new database on the test server, empty or (`migrated`) a copy of the migrated template;
 * returns its URL and a drop function.
 */
export async function createPostgresDatabase({ migrated = false } = {}): Promise<{
  url: string;
  drop: () => Promise<void>;
}> {
  const serverUrl = inject("postgresUrl");
  const name = `stageline_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}${migrated ? ` TEMPLATE ${inject("postgresTemplate")}` : ""}`);
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

/**
 * The PGlite copies' tarballs, read once per worker: every test file of a worker shares this
 * cache (isolate: false), so a read that failed is forgotten, and the next file reads again
 * instead of inheriting the failure. Exported for its own test.
 */
const pgliteCopies = new Map<string, Promise<Blob>>();
export const pgliteCopy = (file: string): Promise<Blob> => {
  let copy = pgliteCopies.get(file);
  if (!copy) {
    const reading = readFile(file).then((bytes) => new Blob([bytes]));
    reading.catch(() => {
      if (pgliteCopies.get(file) === reading) pgliteCopies.delete(file);
    });
    copy = reading;
    pgliteCopies.set(file, copy);
  }
  return copy;
};

/** A fresh database, migrated unless `migrate: false` says to leave it empty for the test to migrate. */
export async function openTestDatabase(
  engine: TestEngine,
  options: { migrate?: boolean; poolSize?: number } = {},
): Promise<TestDatabase> {
  const migrated = options.migrate !== false;
  if (engine === "pglite") {
    const copy = await pgliteCopy(inject(migrated ? "pgliteMigrated" : "pgliteEmpty"));
    return openDatabase({ engine: "pglite", dataDir: "memory://" }, { pgliteCopy: copy });
  }
  const { url, drop } = await createPostgresDatabase({ migrated });
  const db = await openDatabase(parseDatabaseUrl(url, ""), { poolSize: options.poolSize ?? 30 });
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
