/**
 * `npm run db:migration -- <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql
 * with the SQL that brings the migrations up to prisma/schema.prisma (generated offline, see
 * src/store/migration-generator.ts). Review it, then `npm run generate` and `npm run db:migrate`
 * (or just start: migrations apply at start-up).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SOURCES, migrationFolderName, pendingMigrationSql } from "./store/migration-generator.ts";

const name = process.argv.slice(2).join(" ");
const folder = migrationFolderName(name);
const sql = await pendingMigrationSql();
if (sql === "") {
  console.log("schema.prisma and the migrations agree: nothing to generate.");
} else {
  const dir = join(DEFAULT_SOURCES.migrationsDir, folder);
  mkdirSync(dir);
  writeFileSync(join(dir, "migration.sql"), sql);
  console.log(`Wrote ${join("prisma/migrations", folder, "migration.sql")}:\n\n${sql}`);
}
