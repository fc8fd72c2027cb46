/**
 * The PostgreSQL server every compared figure runs on: the embedded one the tests use (same
 * settings), or BENCH_DATABASE_URL. Each measurement gets its own database on it.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { startEmbeddedPostgres } from "../test/support/embedded-postgres.ts";

export interface BenchPostgres {
  /** Where it came from: "embedded" or "BENCH_DATABASE_URL". */
  source: string;
  version: string;
  settings: Record<string, string>;
  /** A new empty database; dropped by `stop`. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const SETTINGS = ["fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_connections"];

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const external = process.env.BENCH_DATABASE_URL;
  const embedded = external ? undefined : await startEmbeddedPostgres();
  const serverUrl = external ?? embedded!.url;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const version = (await admin.query<{ v: string }>("SELECT version() AS v")).rows[0]!.v;
  const settings: Record<string, string> = {};
  for (const name of SETTINGS) {
    settings[name] = (await admin.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]!;
  }
  const created: string[] = [];
  return {
    source: external ? "BENCH_DATABASE_URL" : "embedded (test settings)",
    version,
    settings,
    async createDatabase(name) {
      const db = `bench_${name}_${randomBytes(4).toString("hex")}`;
      await admin.query(`CREATE DATABASE ${db}`);
      created.push(db);
      const url = new URL(serverUrl);
      url.pathname = `/${db}`;
      return url.toString();
    },
    async stop() {
      for (const db of created) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
      await admin.end().catch(() => {});
      await embedded?.stop();
    },
  };
}
