/**
 * Shadow copies of read-model tables, for rebuilding a projection without downtime: each table
 * gets an empty twin of the same shape in the `stageline_rebuild` schema (same columns,
 * defaults, constraints and indexes, under the same names; a foreign key between two tables of
 * the set points at the twin), the projection refills the twins from the log, and `swapIn`
 * replaces the live tables by them inside the caller's transaction. A projection's raw
 * statements (src/store/read-models/ordering.ts) reach the twins too: every transaction of the
 * shadow client puts the shadow schema first on its search path.
 */
import { UnknownTable } from "../core/errors.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { Database } from "./database.ts";
import type { SqlClient, SqlExecutor } from "./sql.ts";

/** Where shadow tables live while they are being filled. */
export const SHADOW_SCHEMA = "stageline_rebuild";

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

interface LiveTable {
  schema: string;
  /** `schema.table`, quoted as PostgreSQL prints it (pg_get_indexdef uses the same form). */
  qualified: string;
}

/** The live table: first on the search path, never the shadow twin (which may come first there). */
async function liveTable(executor: SqlExecutor, table: string): Promise<LiveTable> {
  const rows = await executor.query<{ schema: string; qualified: string }>(
    `SELECT n.nspname AS schema, format('%I.%I', n.nspname, c.relname) AS qualified
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND c.relkind IN ('r', 'p') AND n.nspname <> $2
        AND n.nspname = ANY (current_schemas(false))
      ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1`,
    [table, SHADOW_SCHEMA],
  );
  if (!rows[0]) throw new UnknownTable(`Table ${table} does not exist`);
  return rows[0];
}

const shadowName = (table: string) => `${ident(SHADOW_SCHEMA)}.${ident(table)}`;

/**
 * Creates empty shadow twins of `tables` (dropping leftovers of an earlier, interrupted
 * rebuild). Constraints and indexes are copied by definition under their own names, so that
 * once swapped in the tables look exactly like the ones the migrations created. Foreign keys
 * come last, once every twin exists: one that references a table of the set references its twin
 * (else the shadow rows would have to match the live ones, and the swap could not drop them).
 */
export async function createShadowTables(sql: SqlClient, tables: readonly string[]): Promise<void> {
  await sql.transaction(async (tx) => {
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${ident(SHADOW_SCHEMA)}`);
    const lives = new Map<string, LiveTable>();
    for (const table of tables) lives.set(table, await liveTable(tx, table));
    await dropShadowTables(tx, tables);
    const foreignKeys: { shadow: string; name: string; definition: string; references: string }[] = [];
    for (const [table, live] of lives) {
      const shadow = shadowName(table);
      await tx.query(
        `CREATE TABLE ${shadow} (LIKE ${live.qualified} INCLUDING ALL EXCLUDING INDEXES EXCLUDING CONSTRAINTS)`,
      );
      const constraints = await tx.query<{ name: string; definition: string; foreign: boolean; references: string }>(
        `SELECT conname AS name, pg_get_constraintdef(oid) AS definition, contype = 'f' AS foreign,
                coalesce(confrelid::regclass::text, '') AS references
           FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype IN ('p', 'u', 'c', 'x', 'f') ORDER BY conname`,
        [live.qualified],
      );
      for (const c of constraints) {
        if (c.foreign) foreignKeys.push({ shadow, ...c });
        else await tx.query(`ALTER TABLE ${shadow} ADD CONSTRAINT ${ident(c.name)} ${c.definition}`);
      }
      const indexes = await tx.query<{ definition: string }>(
        `SELECT pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i
          WHERE i.indrelid = to_regclass($1)
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)`,
        [live.qualified],
      );
      for (const { definition } of indexes) {
        const onLive = ` ON ${live.qualified} `;
        if (!definition.includes(onLive)) throw new Error(`Cannot copy index of ${table}: ${definition}`);
        await tx.query(definition.replace(onLive, ` ON ${shadow} `));
      }
    }
    for (const fk of foreignKeys) {
      await tx.query(`ALTER TABLE ${fk.shadow} ADD CONSTRAINT ${ident(fk.name)} ${retarget(fk, tables)}`);
    }
  });
}

/** A foreign key's definition, pointing at the twin when it references a table of the set. */
function retarget(fk: { definition: string; references: string }, tables: readonly string[]): string {
  const target = tables.find(
    (t) => fk.references === t || fk.references === ident(t) || fk.references.endsWith(`.${t}`),
  );
  if (!target) return fk.definition;
  const from = ` REFERENCES ${fk.references}(`;
  if (!fk.definition.includes(from)) throw new Error(`Cannot copy foreign key: ${fk.definition}`);
  return fk.definition.replace(from, ` REFERENCES ${shadowName(target)}(`);
}

/**
 * Replaces each live table by its shadow twin, in the caller's transaction: sequences the live
 * columns own (serial) pass to the twin, the live table is dropped and the twin moves into its
 * schema. Readers block only from here to the commit, then see the new rows.
 */
export async function swapInShadowTables(tx: SqlExecutor, tables: readonly string[]): Promise<void> {
  const lives = new Map<string, LiveTable>();
  for (const table of tables) lives.set(table, await liveTable(tx, table));
  for (const [table, live] of lives) {
    const shadow = shadowName(table);
    const owned = await tx.query<{ sequence: string; column: string }>(
      `SELECT s.oid::regclass::text AS sequence, a.attname AS column
         FROM pg_depend d
         JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
         JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
          AND d.refobjid = to_regclass($1) AND d.deptype = 'a'`,
      [live.qualified],
    );
    for (const o of owned) await tx.query(`ALTER SEQUENCE ${o.sequence} OWNED BY ${shadow}.${ident(o.column)}`);
  }
  // One statement for all: a foreign key between two live tables of the set does not block it.
  await tx.query(`DROP TABLE ${[...lives.values()].map((l) => l.qualified).join(", ")}`);
  for (const [table, live] of lives)
    await tx.query(`ALTER TABLE ${shadowName(table)} SET SCHEMA ${ident(live.schema)}`);
}

/** Removes shadow twins (after a failed or abandoned rebuild). */
export async function dropShadowTables(sql: SqlExecutor, tables: readonly string[]): Promise<void> {
  if (tables.length > 0) await sql.query(`DROP TABLE IF EXISTS ${tables.map(shadowName).join(", ")}`);
}

/**
 * A Prisma client on the shadow tables: its ORM queries name the shadow schema, and each of its
 * transactions puts that schema first on the search path (for this transaction only), so the
 * raw statements a projection runs through the store reach the twins as well.
 */
export function shadowPrisma(db: Pick<Database, "prismaInSchema">): PrismaClient {
  const client = db.prismaInSchema(SHADOW_SCHEMA);
  const transaction: PrismaClient["$transaction"] = ((work: unknown, options?: unknown) => {
    if (typeof work !== "function") return client.$transaction(work as never, options as never);
    return client.$transaction(async (tx) => {
      await tx.$queryRawUnsafe(
        "SELECT set_config('search_path', format('%I, ', $1::text) || current_setting('search_path'), true)",
        SHADOW_SCHEMA,
      );
      return work(tx);
    }, options as never);
  }) as PrismaClient["$transaction"];
  return new Proxy(client, {
    get(target, property) {
      if (property === "$transaction") return transaction;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
