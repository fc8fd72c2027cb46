import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StartupError } from "../../src/core/errors.ts";
import { openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { DEFAULT_MIGRATIONS_DIR, loadMigrations, migrate } from "../../src/store/migrations.ts";
import { createPostgresDatabase, engines, openTestDatabase, type TestDatabase } from "../support/databases.ts";

describe.each(engines)("migrations on %s", (engine) => {
  let db: TestDatabase;
  afterEach(async () => {
    await db?.close();
  });

  it("applies every migration once, records it as Prisma does, and is a no-op when run again", async () => {
    db = await openTestDatabase(engine, { migrate: false });
    const first = await migrate(db.sql);
    const all = loadMigrations();
    expect(first.applied).toEqual(all.map((m) => m.name));

    const rows = await db.sql.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      applied_steps_count: number;
    }>(
      `SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows.map((r) => r.migration_name)).toEqual(all.map((m) => m.name));
    expect(rows.map((r) => r.checksum)).toEqual(all.map((m) => m.checksum));
    expect(rows.every((r) => r.finished_at instanceof Date && r.applied_steps_count === 1)).toBe(true);

    const second = await migrate(db.sql);
    expect(second).toEqual({ applied: [], alreadyApplied: all.length });
    const count = await db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_prisma_migrations"`);
    expect(count[0]?.n).toBe(all.length);
  });

  it("refuses to start when an applied migration was changed afterwards", async () => {
    db = await openTestDatabase(engine);
    const dir = mkdtempSync(join(tmpdir(), "stageline-migrations-"));
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    const first = loadMigrations(dir)[0];
    if (!first) throw new Error("no migrations");
    writeFileSync(join(dir, first.name, "migration.sql"), `${first.sql}\n-- edited after the fact\n`);

    const error = await migrate(db.sql, { dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).code).toBe("MIGRATION_CHECKSUM_MISMATCH");
    expect((error as StartupError).message).toContain(first.name);
  });

  it("applies a new migration added later, and rolls back a failing one whole", async () => {
    db = await openTestDatabase(engine);
    const dir = mkdtempSync(join(tmpdir(), "stageline-migrations-"));
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(dir, "29990101000000_broken"));
    writeFileSync(
      join(dir, "29990101000000_broken", "migration.sql"),
      `CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;\n`,
    );
    const error = await migrate(db.sql, { dir }).catch((e: unknown) => e);
    expect((error as StartupError).code).toBe("MIGRATION_FAILED");
    const tables = await db.sql.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'`);
    expect(tables).toHaveLength(0);
    const recorded = await db.sql.query(
      `SELECT 1 FROM "_prisma_migrations" WHERE migration_name = '29990101000000_broken'`,
    );
    expect(recorded).toHaveLength(0);

    writeFileSync(join(dir, "29990101000000_broken", "migration.sql"), `CREATE TABLE half_done (id int);\n`);
    const report = await migrate(db.sql, { dir });
    expect(report.applied).toEqual(["29990101000000_broken"]);
  });
});

describe("migrations on postgres, two processes at once", () => {
  it("apply each migration exactly once", async () => {
    const { url, drop } = await createPostgresDatabase();
    const target = parseDatabaseUrl(url, "");
    const [a, b] = await Promise.all([openDatabase(target), openDatabase(target)]);
    try {
      const reports = await Promise.all([migrate(a.sql), migrate(b.sql)]);
      const total = loadMigrations().length;
      expect(reports.map((r) => r.applied.length).sort()).toEqual([0, total]);
      const rows = await a.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_prisma_migrations"`);
      expect(rows[0]?.n).toBe(total);
    } finally {
      await a.close();
      await b.close();
      await drop();
    }
  });
});
