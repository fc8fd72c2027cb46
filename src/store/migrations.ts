/**
 * Applies prisma/migrations/<timestamp>_<name>/migration.sql at start-up, recording each in
 * `_prisma_migrations` with Prisma's own columns and sha256 checksum, so that
 * `prisma migrate status/deploy` on a machine that has the schema engine agrees with us.
 * (We cannot use the Prisma CLI itself here: it downloads a native engine, and the build
 * machines are offline.)
 */
import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreCode, StartupError } from "../core/errors.ts";
import type { Logger } from "../logger.ts";
import type { SqlClient, SqlExecutor } from "./sql.ts";

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

/** The advisory lock key Prisma Migrate takes, so the CLI and the app also exclude each other. */
const PRISMA_MIGRATE_LOCK = 72707369;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Brings the database up to date. All pending migrations run in one transaction under Prisma's
 * advisory lock: two processes starting at once apply each migration once, and a failing
 * migration leaves nothing half-done.
 */
export async function migrate(
  sql: SqlClient,
  options: { dir?: string; logger?: Logger } = {},
): Promise<MigrationReport> {
  const migrations = loadMigrations(options.dir);
  return sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [PRISMA_MIGRATE_LOCK]);
    await tx.exec(CREATE_MIGRATIONS_TABLE);
    const rows = await tx.query<AppliedRow>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    const applied = new Map(rows.map((row) => [row.migration_name, row]));
    checkApplied(migrations, applied);

    const pending = migrations.filter((m) => !applied.has(m.name));
    for (const migration of pending) await apply(tx, migration);
    if (pending.length > 0) {
      options.logger?.info({ migrations: pending.map((m) => m.name) }, "migrations applied");
    }
    return { applied: pending.map((m) => m.name), alreadyApplied: migrations.length - pending.length };
  });
}

function checkApplied(migrations: Migration[], applied: Map<string, AppliedRow>): void {
  for (const migration of migrations) {
    const row = applied.get(migration.name);
    if (!row) continue;
    if (row.finished_at === null) {
      throw new StartupError(
        CoreCode.MIGRATION_FAILED_EARLIER,
        `Migration ${migration.name} was started but never finished (a failed \`prisma migrate deploy\`?). Resolve it with \`prisma migrate resolve\` before starting.`,
      );
    }
    if (row.checksum !== migration.checksum) {
      throw new StartupError(
        CoreCode.MIGRATION_CHECKSUM_MISMATCH,
        `Migration ${migration.name} was changed after it was applied (checksum ${row.checksum.slice(0, 12)}… in the database, ${migration.checksum.slice(0, 12)}… on disk). Restore the file and add a new migration for the change instead.`,
      );
    }
  }
}

async function apply(tx: SqlExecutor, migration: Migration): Promise<void> {
  const id = randomUUID();
  await tx.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
    [id, migration.checksum, migration.name],
  );
  try {
    await tx.exec(migration.sql);
  } catch (error) {
    throw new StartupError(
      CoreCode.MIGRATION_FAILED,
      `Migration ${migration.name} failed: ${(error as Error).message}`,
    );
  }
  await tx.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`, [id]);
}
