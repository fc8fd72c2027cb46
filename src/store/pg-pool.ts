/**
 * What every pg pool of ours needs before its first connection, for both engines (PostgreSQL,
 * and PGlite behind its worker thread).
 */
import type pg from "pg";

/**
 * A client losing its server must not crash the process, idle in the pool or checked out (a
 * transaction between statements): the next query on it reports the loss instead. Called as
 * soon as the pool exists: a listener added after the first connection misses that connection.
 */
export function quietLostConnections(pool: pg.Pool): void {
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
}
