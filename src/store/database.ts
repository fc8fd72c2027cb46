/**
 * The one database factory: PGlite in a local folder (or in memory) by default, a real
 * PostgreSQL when DATABASE_URL says so. Both are a `pg` pool (PGlite's in a worker thread, see
 * pglite-thread.ts) under a raw SqlClient for the hot paths and a Prisma client, on the same
 * connection(s), for read models: one code path for both engines.
 */
import { mkdirSync } from "node:fs";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { CoreCode, StartupError } from "../core/errors.ts";
import { PrismaClient } from "../generated/prisma/client.ts";
import { type DatabaseTarget, describeTarget } from "./database-url.ts";
import { quietLostConnections } from "./pg-pool.ts";
import { type PgliteThread, startPgliteThread } from "./pglite-thread.ts";
import { type Engine, pgSqlClient, type SqlClient } from "./sql.ts";

export interface Database {
  readonly target: DatabaseTarget;
  readonly sql: SqlClient;
  readonly prisma: PrismaClient;
  /** For logs: never contains a password. */
  readonly description: string;
  /**
   * A second Prisma client on the same connection(s) whose models live in another PostgreSQL
   * schema: Prisma qualifies every table with the adapter's schema name (`"schema"."table"`);
   * raw SQL still resolves through the search path (public). Projection rebuilds write their
   * shadow tables through it. Disconnect it when done; the connection stays open.
   */
  prismaInSchema(schema: string): PrismaClient;
  /** The connection pool's use now (PGlite: its worker thread's one connection). */
  poolUse?(): PoolUse;
  /**
   * PostgreSQL: the pool's settings (URL, timeouts), so that a connection kept apart from the
   * pool (the runner leases', lease-connection.ts) is opened alike. Holds the URL: never log it.
   */
  readonly connectionConfig?: pg.PoolConfig;
  close(): Promise<void>;
}

export interface PoolUse {
  /** Connections open, idle among them, requests waiting for one, and the pool's size. */
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface OpenDatabaseOptions {
  /** Connections in the pool (PostgreSQL only). */
  poolSize?: number;
  connectTimeoutMs?: number;
  /**
   * PostgreSQL only: the server ends a session whose transaction stays idle this long (0 or
   * absent: never). A process stopped mid-transaction (SIGSTOP, a frozen VM) would otherwise
   * hold its row locks and the xmin horizon, and every other process's runners wait behind them.
   */
  idleInTransactionTimeoutMs?: number;
  /** PGlite only: start an empty data folder from this copy (`dumpDataDir`) instead of initdb (see pglite-thread.ts). */
  pgliteCopy?: Blob;
}

export async function openDatabase(target: DatabaseTarget, options: OpenDatabaseOptions = {}): Promise<Database> {
  const description = describeTarget(target);
  if (target.engine === "pglite") {
    if (target.dataDir !== "memory://") mkdirSync(target.dataDir, { recursive: true });
    let thread: PgliteThread;
    try {
      thread = await startPgliteThread(target.dataDir, options.pgliteCopy);
    } catch (error) {
      throw new StartupError(
        CoreCode.DATABASE_UNAVAILABLE,
        `Cannot open ${description}: ${(error as Error).message}. Is another process using the folder, or was it written by another PGlite version?`,
      );
    }
    // PGlite runs in a worker thread behind a one-connection pg pool: from here on it is the
    // PostgreSQL code path (pglite-thread.ts).
    return onPool(target, description, thread.pool, thread.close, "pglite");
  }

  const pool = new pg.Pool({
    connectionString: target.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    ...(options.idleInTransactionTimeoutMs
      ? { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs }
      : {}),
  });
  quietLostConnections(pool);
  try {
    await pool.query("SELECT 1");
  } catch (error) {
    await pool.end().catch(() => {});
    throw new StartupError(
      CoreCode.DATABASE_UNAVAILABLE,
      `Cannot reach ${description} (${describeDriverError(error)}): check DATABASE_URL and that the server is running and accepts connections.`,
    );
  }
  return { ...onPool(target, description, pool, () => pool.end(), "postgres"), connectionConfig: pool.options };
}

/** The raw SQL client and the Prisma clients over one pg pool; `end` closes what is under the pool. */
function onPool(
  target: DatabaseTarget,
  description: string,
  pool: pg.Pool,
  end: () => Promise<void>,
  engine: Engine,
): Database {
  const sql = pgSqlClient(pool, engine, end);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const prismaInSchema = (schema: string) => new PrismaClient({ adapter: new PrismaPg(pool, { schema }) });
  const max = pool.options.max ?? 10;
  const poolUse = () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max });
  return { target, sql, prisma, description, prismaInSchema, poolUse, close: closeBoth(prisma, sql) };
}

function closeBoth(prisma: PrismaClient, sql: SqlClient): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      await prisma.$disconnect().catch(() => {});
      await sql.close().catch(() => {});
    })();
    return closing;
  };
}

/** The driver's reason without anything that could hold a secret (messages never echo passwords, codes never do). */
function describeDriverError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const message = (e.message ?? String(error)).replace(/postgres(ql)?:\/\/\S+/g, "<url>");
  return e.code ? `${e.code}: ${message}` : message;
}
