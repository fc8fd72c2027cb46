/**
 * The storage limit: plain single-row INSERTs, each its own transaction (autocommit), into the
 * event log table of a freshly migrated database (the same columns, defaults and indexes as
 * `events`), one connection per client. No reads, no version check, no results: what the
 * database can commit at this concurrency, the ceiling for PROCESSED.
 */
import { randomUUID } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { migrate } from "../src/store/migrations.ts";
import { pgliteSqlClient, pgSqlClient, type SqlClient } from "../src/store/sql.ts";
import { serve } from "./ipc.ts";
import { closedLoop, type LoadPlan } from "./stats.ts";

const INSERT = `INSERT INTO events (tenant_id, aggregate_name, aggregate_id, version, type, body,
                                    command_id, request_id, correlation_id, causation_id)
                VALUES ($1, 'Account', $2, $3, 'MoneyDeposited', $4::jsonb, $5::uuid, $5::text, $5::uuid, $5::text)`;

let sql: SqlClient | undefined;
let pool: pg.Pool | undefined;
/** The next version of each client's stream (the unique stream index is exercised). */
const versions = new Map<string, number>();
let generation = 0;

serve({
  setup: async (args: { url: string }) => {
    if (args.url === "memory://") {
      sql = pgliteSqlClient(await PGlite.create());
    } else {
      pool = new pg.Pool({ connectionString: args.url, max: 200 });
      sql = pgSqlClient(pool);
    }
    await migrate(sql);
    return {};
  },
  run: async (args: LoadPlan) => {
    const executor = sql!;
    generation++;
    // Hold one connection per client for the whole run, as a client with its own connection would.
    const clients = pool ? await Promise.all(Array.from({ length: args.loops }, () => pool!.connect())) : [];
    try {
      return await closedLoop(args, async (loop) => {
        const stream = `limit-${generation}-${loop}`;
        const version = (versions.get(stream) ?? 0) + 1;
        versions.set(stream, version);
        const id = randomUUID();
        const params = ["default", stream, version, '{"amount":1}', id];
        if (pool) await clients[loop]!.query(INSERT, params);
        else await executor.query(INSERT, params);
      });
    } finally {
      for (const client of clients) client.release();
    }
  },
});
