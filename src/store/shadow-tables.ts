/**
 * Shadow copies of read-model tables, for rebuilding a projection without downtime: each table
 * gets an empty twin of the same shape in the `stageline_rebuild` schema (same columns,
 * defaults, constraints and indexes, under the same names), the projection refills the twins
 * from the log, and `swapIn` replaces the live tables by them inside the caller's transaction.
 */
import { UnknownTable } from "../core/errors.ts";
import type { SqlClient, SqlExecutor } from "./sql.ts";

/** Where shadow tables live while they are being filled. */
export const SHADOW_SCHEMA = "stageline_rebuild";

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

interface LiveTable {
  schema: string;
  /** `schema.table`, quoted as PostgreSQL prints it (pg_get_indexdef uses the same form). */
  qualified: string;
}

async function liveTable(executor: SqlExecutor, table: string): Promise<LiveTable> {
  const rows = await executor.query<{ schema: string; qualified: string }>(
    `SELECT n.nspname AS schema, format('%I.%I', n.nspname, c.relname) AS qualified
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass(format('%I', $1::text)) AND c.relkind IN ('r', 'p')`,
    [table],
  );
  if (!rows[0]) throw new UnknownTable(`Table ${table} does not exist`);
  return rows[0];
}

const shadowName = (table: string) => `${ident(SHADOW_SCHEMA)}.${ident(table)}`;

/**
 * Creates empty shadow twins of `tables` (dropping leftovers of an earlier, interrupted
 * rebuild). Constraints and indexes are copied by definition under their own names, so that
 * once swapped in the tables look exactly like the ones the migrations created.
 */
export async function createShadowTables(sql: SqlClient, tables: readonly string[]): Promise<void> {
  await sql.transaction(async (tx) => {
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${ident(SHADOW_SCHEMA)}`);
    for (const table of tables) {
      const live = await liveTable(tx, table);
      const shadow = shadowName(table);
      await tx.query(`DROP TABLE IF EXISTS ${shadow}`);
      await tx.query(
        `CREATE TABLE ${shadow} (LIKE ${live.qualified} INCLUDING ALL EXCLUDING INDEXES EXCLUDING CONSTRAINTS)`,
      );
      const constraints = await tx.query<{ name: string; definition: string }>(
        `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint
          WHERE conrelid = to_regclass($1) AND contype IN ('p', 'u', 'c', 'x', 'f') ORDER BY contype = 'f', conname`,
        [live.qualified],
      );
      for (const c of constraints)
        await tx.query(`ALTER TABLE ${shadow} ADD CONSTRAINT ${ident(c.name)} ${c.definition}`);
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
  });
}

/**
 * Replaces each live table by its shadow twin, in the caller's transaction: sequences the live
 * columns own (serial) pass to the twin, the live table is dropped and the twin moves into its
 * schema. Readers block only from here to the commit, then see the new rows.
 */
export async function swapInShadowTables(tx: SqlExecutor, tables: readonly string[]): Promise<void> {
  for (const table of tables) {
    const live = await liveTable(tx, table);
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
    await tx.query(`DROP TABLE ${live.qualified}`);
    await tx.query(`ALTER TABLE ${shadow} SET SCHEMA ${ident(live.schema)}`);
  }
}

/** Removes shadow twins (after a failed or abandoned rebuild). */
export async function dropShadowTables(sql: SqlExecutor, tables: readonly string[]): Promise<void> {
  for (const table of tables) await sql.query(`DROP TABLE IF EXISTS ${shadowName(table)}`);
}
