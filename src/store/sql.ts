/**
 * The raw SQL connection under everything: one interface over a `pg` pool (PostgreSQL, and
 * PGlite in its worker thread) and, for the bench's storage limit only, an in-process PGlite.
 * Hot paths (append, load, checkpoints) use it directly; Prisma's ORM sits on the same
 * connection for read models (see database.ts).
 */
import type { PGlite, Transaction as PGliteTransaction } from "@electric-sql/pglite";
import type { Pool, PoolClient } from "pg";

export type Engine = "pglite" | "postgres";

export interface QueryOptions {
  /**
   * A named prepared statement (pg): each connection parses and plans it once, later uses send
   * only the parameters. For fixed hot-path texts only: one name must always carry one text.
   * PGlite and Prisma ignore it.
   */
  name?: string;
}

export interface SqlExecutor {
  /** One statement with `$n` parameters; returns its rows. */
  query<Row = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<Row[]>;
  /** Several statements, no parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface SqlClient extends SqlExecutor {
  readonly engine: Engine;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** `end` closes what is under the pool (for PGlite: the pool, then the worker and its database). */
export function pgSqlClient(
  pool: Pool,
  engine: Engine = "postgres",
  end: () => Promise<void> = () => pool.end(),
): SqlClient {
  const onClient = (client: Pool | PoolClient): SqlExecutor => ({
    async query<Row>(text: string, params?: readonly unknown[], options?: QueryOptions) {
      const values = params as unknown[] | undefined;
      const result = await (options?.name
        ? client.query({ name: options.name, text, values })
        : client.query(text, values));
      return result.rows as Row[];
    },
    async exec(script: string) {
      await client.query(script);
    },
  });
  return {
    engine,
    ...onClient(pool),
    async transaction(work) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN");
        const result = await work(onClient(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: end,
  };
}

/** An in-process PGlite on the calling thread (the bench's storage limit; the app uses pglite-thread.ts). */
export function pgliteSqlClient(db: PGlite): SqlClient {
  const onClient = (client: PGlite | PGliteTransaction): SqlExecutor => ({
    async query<Row>(text: string, params?: readonly unknown[]) {
      const result = await client.query<Row>(text, params as unknown[] | undefined);
      return result.rows;
    },
    async exec(script: string) {
      await client.exec(script);
    },
  });
  return {
    engine: "pglite",
    ...onClient(db),
    // PGlite has one connection: its transaction() holds a mutex, so every other query of the
    // process waits until this one ends. Keep transactions short.
    transaction: (work) => db.transaction((tx) => work(onClient(tx))),
    async close() {
      if (!db.closed) await db.close();
    },
  };
}

/** The SQLSTATE of a driver error (pg and PGlite both carry it as `code`). */
export const sqlState = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string"
    ? (error as { code: string }).code
    : undefined;

export const constraintOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null ? (error as { constraint?: string }).constraint : undefined;

export const UNIQUE_VIOLATION = "23505";
