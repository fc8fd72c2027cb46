/**
 * Generates the next migration's SQL offline: Prisma's schema engine, compiled to WebAssembly
 * (`@prisma/schema-engine-wasm`), replays prisma/migrations on a scratch in-memory PGlite (its
 * shadow database) and diffs the result against prisma/schema.prisma. No native engine, no
 * download, no server: the Prisma CLI's `migrate diff` would fetch a binary the offline build
 * machines cannot get.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import * as engineGlue from "@prisma/schema-engine-wasm/schema_engine_bg";
import { PrismaPGlite } from "pglite-prisma-adapter";

/**
 * Statements the engine proposes that would undo what schema.prisma cannot express. Prisma has
 * no generated columns: it reads `search_vector` (GENERATED ALWAYS AS …, see the ordering read
 * models migration) as a column with a default and proposes dropping it.
 */
const INEXPRESSIBLE = [/^ALTER TABLE "order_summaries" ALTER COLUMN "search_vector" DROP DEFAULT;$/];

let loaded: typeof engineGlue.SchemaEngine | undefined;

/** Instantiates the engine's WebAssembly once (its package expects a bundler's `.wasm` import). */
function schemaEngine(): typeof engineGlue.SchemaEngine {
  if (loaded) return loaded;
  const dir = dirname(createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm/schema_engine_bg"));
  const module = new WebAssembly.Module(readFileSync(join(dir, "schema_engine_bg.wasm")));
  const instance = new WebAssembly.Instance(module, {
    "./schema_engine_bg.js": engineGlue as unknown as WebAssembly.ModuleImports,
  });
  engineGlue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  loaded = engineGlue.SchemaEngine;
  return loaded;
}

export interface MigrationSources {
  schemaPath: string;
  migrationsDir: string;
}

export const DEFAULT_SOURCES: MigrationSources = {
  schemaPath: resolve("prisma/schema.prisma"),
  migrationsDir: resolve("prisma/migrations"),
};

/** The SQL that takes a database from the migrations' end state to schema.prisma's; "" when none. */
export async function pendingMigrationSql(sources: MigrationSources = DEFAULT_SOURCES): Promise<string> {
  const schema = readFileSync(sources.schemaPath, "utf8");
  const base = sources.migrationsDir;
  const migrationDirectories = readdirSync(base)
    .filter((name) => statSync(join(base, name)).isDirectory())
    .sort()
    .map((path) => ({
      path,
      migrationFile: {
        path: "migration.sql",
        content: { tag: "ok" as const, value: readFileSync(join(base, path, "migration.sql"), "utf8") },
      },
    }));
  const lockPath = join(base, "migration_lock.toml");
  const shadow = new PGlite();
  try {
    const engine = await schemaEngine().new(
      { datamodels: [[sources.schemaPath, schema]] },
      () => {},
      bindMigrationAwareSqlAdapterFactory(new PrismaPGlite(shadow)),
    );
    try {
      const result = await engine.diff({
        from: {
          tag: "migrations",
          baseDir: base,
          lockfile: { path: "migration_lock.toml", content: readFileSync(lockPath, "utf8") },
          shadowDbInitScript: "",
          migrationDirectories,
        },
        to: { tag: "schemaDatamodel", files: [{ path: sources.schemaPath, content: schema }] },
        script: true,
        exitCode: null,
        filters: { externalTables: [], externalEnums: [] },
      });
      return withoutInexpressible(result.stdout ?? "");
    } finally {
      engine.free();
    }
  } finally {
    await shadow.close();
  }
}

/** Drops the INEXPRESSIBLE statements (and a comment left heading nothing); "" when nothing is left. */
function withoutInexpressible(sql: string): string {
  const kept = sql
    .split(/\n(?=-- )/)
    .map((block) =>
      block
        .split("\n")
        .filter((line) => !INEXPRESSIBLE.some((pattern) => pattern.test(line.trim())))
        .join("\n"),
    )
    .filter((block) => block.split("\n").some((line) => line.trim() !== "" && !line.startsWith("--")));
  return kept.length === 0 ? "" : `${kept.join("\n").trim()}\n`;
}

/** A migration folder name in Prisma Migrate's layout: `<UTC timestamp>_<name>`. */
export function migrationFolderName(name: string, at: Date = new Date()): string {
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "");
  if (!slug) throw new Error("A migration needs a name: npm run db:migration -- <name>");
  const stamp = at.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `${stamp}_${slug}`;
}
