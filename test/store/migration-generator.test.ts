/**
 * The offline migration generator (`npm run db:migration`): schema.prisma and the checked-in
 * migrations agree (nothing to generate), and a model added to the schema comes out as the SQL
 * that creates it, in a folder named in Prisma Migrate's layout.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_SOURCES, migrationFolderName, pendingMigrationSql } from "../../src/store/migration-generator.ts";

describe("migration generator", () => {
  const scratch = mkdtempSync(join(tmpdir(), "stageline-migration-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("finds nothing to generate when schema.prisma and the migrations agree", async () => {
    expect(await pendingMigrationSql()).toBe("");
  }, 60_000);

  it("generates the SQL for a model added to the schema", async () => {
    const schemaPath = join(scratch, "schema.prisma");
    const migrationsDir = join(scratch, "migrations");
    cpSync(DEFAULT_SOURCES.migrationsDir, migrationsDir, { recursive: true });
    writeFileSync(
      schemaPath,
      `${readFileSync(DEFAULT_SOURCES.schemaPath, "utf8")}
model Widget {
  key   String @id
  label String
  @@map("widgets")
}
`,
    );
    const sql = await pendingMigrationSql({ schemaPath, migrationsDir });
    expect(sql).toContain('CREATE TABLE "widgets"');
    expect(sql).toContain('"label" TEXT NOT NULL');
    expect(sql).not.toContain("search_vector");
  }, 60_000);

  it("names the folder <UTC timestamp>_<name>", () => {
    expect(migrationFolderName("Stock views!", new Date("2026-12-01T16:05:09Z"))).toBe("20261201160509_stock_views");
    expect(() => migrationFolderName("  ")).toThrow("needs a name");
  });
});
