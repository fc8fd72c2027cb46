/**
 * A test database as the release before a migration left it: every migration older than the
 * named one applied, none after. A migration's test stores old-shape rows in it, then migrates.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_MIGRATIONS_DIR, migrate } from "../../src/store/migrations.ts";
import { openTestDatabase, type TestDatabase, type TestEngine } from "./databases.ts";

export async function openDatabaseBefore(engine: TestEngine, migration: string): Promise<TestDatabase> {
  const db = await openTestDatabase(engine, { migrate: false });
  const dir = mkdtempSync(join(tmpdir(), "stageline-migrations-"));
  try {
    for (const entry of readdirSync(DEFAULT_MIGRATIONS_DIR)) {
      if (entry < migration && !entry.includes("."))
        cpSync(join(DEFAULT_MIGRATIONS_DIR, entry), join(dir, entry), { recursive: true });
    }
    await migrate(db.sql, { dir });
    return db;
  } catch (error) {
    await db.close();
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
