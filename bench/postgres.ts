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

/** The settings a production server runs with: every commit flushed to disk before it answers. */
const DURABLE = ["-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on"];

/**
 * `durable`: a second embedded server with production's durability settings (the tests' server
 * trades them for speed). With BENCH_DATABASE_URL, that server is used as it is set up.
 */
export async function startBenchPostgres(options: { durable?: boolean } = {}): Promise<BenchPostgres> {
  const external = process.env.BENCH_DATABASE_URL;
  const embedded = external ? undefined : await startEmbeddedPostgres({ flags: options.durable ? DURABLE : [] });
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
    source: external
      ? "BENCH_DATABASE_URL"
      : options.durable
        ? "embedded (durable settings)"
        : "embedded (test settings)",
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
