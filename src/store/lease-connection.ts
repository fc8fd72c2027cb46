/**
 * The runner leases' own connection (PostgreSQL only; PGlite has no leases): lease renewals,
 * takeovers and process heartbeats must never queue behind command traffic for a pooled
 * connection, or a burst that saturates the pool makes every process lose its leases at once
 * (seen with 10,000 commands: the pool's waits timed out, renewals missed, runners stopped).
 * A pool of one, opened with the main pool's settings (URL, idle-in-transaction and statement
 * timeouts), so a lost connection is dropped and the next tick connects anew. The fence is not
 * here: it runs inside each batch's own transaction, on the batch's connection.
 */
import pg from "pg";
import { quietLostConnections } from "./pg-pool.ts";
import { pgSqlClient, type SqlClient } from "./sql.ts";

/** How the lease loop's connection shows in pg_stat_activity (operators, tests). */
export const LEASE_APPLICATION_NAME = "stageline-leases";

export interface LeaseConnectionOptions {
  /**
   * The lease time to live: a lease statement still running after it is useless (the lease is
   * lost by then), so it is cut off there and the connection replaced, rather than letting a
   * connection that hangs (a silent network) hold every later tick back.
   */
  ttlMs: number;
}

/** The connection is lazy: nothing opens before the first lease statement. Close it on shutdown. */
export function openLeaseConnection(poolConfig: pg.PoolConfig, options: LeaseConnectionOptions): SqlClient {
  const pool = new pg.Pool({
    ...poolConfig,
    // A password given apart from the URL is not enumerable in pg's copy of the settings.
    ...(poolConfig.password !== undefined ? { password: poolConfig.password } : {}),
    max: 1,
    min: 0,
    // Kept open between ticks (a third of the TTL apart), whatever the main pool does with idle ones.
    idleTimeoutMillis: 0,
    keepAlive: true,
    application_name: LEASE_APPLICATION_NAME,
    // The server's own limit as the main pool's, or the TTL if that is shorter (or none is set):
    // the server ends the statement and the connection stays usable.
    statement_timeout: Math.min(positiveOr(poolConfig.statement_timeout, options.ttlMs), options.ttlMs),
    // The last resort when the server cannot even answer: pg drops this connection (the pool
    // opens another at the next tick).
    query_timeout: 2 * options.ttlMs,
  });
  quietLostConnections(pool);
  return pgSqlClient(pool, "postgres");
}

function positiveOr(value: unknown, otherwise: number): number {
  return typeof value === "number" && value > 0 ? value : otherwise;
}
