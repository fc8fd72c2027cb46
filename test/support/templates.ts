/**
 * Databases are made once per run and copied, not made again for every suite: a PGlite started
 * empty runs initdb (seconds of CPU each time), and a PostgreSQL database is migrated statement by
 * statement. So the global setup makes one empty and one migrated PGlite data folder, saved as
 * `dumpDataDir` tarballs that every test PGlite starts from, and one migrated PostgreSQL database
 * that every test database is created from (`CREATE DATABASE … TEMPLATE`). A copy is the same
 * database a fresh one would be: the same migrations, applied by the same code.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { migrate } from "../../src/store/migrations.ts";

export interface PgliteCopies {
  /** Tarball files (`dumpDataDir`, uncompressed) of a PGlite fresh from initdb and of one migrated. */
  empty: string;
  migrated: string;
  remove(): Promise<void>;
}

export async function makePgliteCopies(): Promise<PgliteCopies> {
  const folder = await mkdtemp(join(tmpdir(), "stageline-pglite-copies-"));
  try {
    // Migrated through the app's own path (worker thread, pg pool), then closed so its files are complete.
    const dataDir = join(folder, "data");
    const db = await openDatabase({ engine: "pglite", dataDir });
    await migrate(db.sql);
    await db.close();
    const dump = async (pglite: PGlite, file: string) => {
      const tarball = await pglite.dumpDataDir("none");
      await writeFile(file, Buffer.from(await tarball.arrayBuffer()));
      await pglite.close();
    };
    const empty = join(folder, "empty.tar");
    const migrated = join(folder, "migrated.tar");
    await dump(await PGlite.create(), empty);
    await dump(await PGlite.create({ dataDir }), migrated);
    await rm(dataDir, { recursive: true, force: true });
    return { empty, migrated, remove: () => rm(folder, { recursive: true, force: true }) };
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}

/** A migrated database on the server for test databases to copy; returns its name and a drop function. */
export async function makePostgresTemplate(serverUrl: string): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `stageline_template_${randomBytes(6).toString("hex")}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  // One connection, closed before any copy: CREATE DATABASE … TEMPLATE refuses a template in use.
  const db = await openDatabase(parseDatabaseUrl(url.toString(), ""), { poolSize: 1 });
  try {
    await migrate(db.sql);
  } finally {
    await db.close();
  }
  return { name, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
