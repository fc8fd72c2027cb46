/**
 * The ordering read models' two raw statements, for what the Prisma ORM cannot say: a
 * set-based correlated update (refresh the product names of every order holding a product) and
 * a full-text match on the generated tsvector column. Here because `src/store` is the only place
 * with SQL; the domain calls them with its transaction or read client. Both are tagged templates:
 * every value is a bound parameter. Table names are unqualified on purpose: they resolve through
 * the search path, which a projection rebuild points at its shadow tables (src/store/shadow-tables.ts).
 */
import { Prisma } from "../../generated/prisma/client.ts";

type Tx = Prisma.TransactionClient;

/** After a product's name changed in order_lines: rebuild product_names of each order that holds it. */
export function refreshOrderProductNames(tx: Tx, tenantId: string, productId: string): Promise<number> {
  return tx.$executeRaw`
    UPDATE order_summaries s
       SET product_names = coalesce(
             (SELECT string_agg(l.product_name, ' ' ORDER BY l.line_no) FROM order_lines l WHERE l.order_key = s.key), '')
     WHERE s.key IN (SELECT order_key FROM order_lines WHERE tenant_id = ${tenantId} AND product_id = ${productId})`;
}

export interface OrderSearch {
  tenantId: string;
  /** Free text: every word must prefix-match a word of the order ID, customer name or product names. */
  text: string;
  /** created_at ≥ from */
  from?: Date | null;
  /** created_at < to */
  to?: Date | null;
  /** One of the ordering context's order statuses. */
  status?: string | null;
  /** Keyset: only orders created before (after, when `inverted`) this log position. */
  beyond?: bigint | null;
  /** false: newest first; true: oldest first (for `last`/`before`). */
  inverted: boolean;
  limit: number;
}

/**
 * The search as one statement. The query text is normalised exactly like the document (runs of
 * non-alphanumerics → one space), then each word becomes a prefix term, all required. The GIN
 * index on search_vector finds the candidates; the page is the next `limit` by creation.
 */
export function searchOrdersSql(search: OrderSearch): Prisma.Sql {
  const words = Prisma.sql`btrim(regexp_replace(${search.text}::text, '[^[:alnum:]]+', ' ', 'g'))`;
  const query = Prisma.sql`CASE WHEN ${words} = '' THEN NULL::tsquery
                                ELSE to_tsquery('simple'::regconfig, replace(${words}, ' ', ':* & ') || ':*') END`;
  const conditions = [Prisma.sql`tenant_id = ${search.tenantId}`, Prisma.sql`search_vector @@ (${query})`];
  if (search.from) conditions.push(Prisma.sql`created_at >= ${search.from}`);
  if (search.to) conditions.push(Prisma.sql`created_at < ${search.to}`);
  if (search.status) conditions.push(Prisma.sql`status = ${search.status}`);
  if (search.beyond !== undefined && search.beyond !== null) {
    conditions.push(
      search.inverted
        ? Prisma.sql`created_position > ${search.beyond}`
        : Prisma.sql`created_position < ${search.beyond}`,
    );
  }
  // `+ 0` keeps the planner off the created_position index on purpose: walking it and filtering
  // is quick for common words but reads the whole table for rare ones, and which it picks flipped
  // with the statistics. The GIN index and a top-N sort (memory bounded by LIMIT) always work.
  return Prisma.sql`
    SELECT key, created_position FROM order_summaries
     WHERE ${Prisma.join(conditions, " AND ")}
     ORDER BY created_position + 0 ${search.inverted ? Prisma.sql`ASC` : Prisma.sql`DESC`}
     LIMIT ${search.limit}`;
}

export async function searchOrderKeys(client: Pick<Tx, "$queryRaw">, search: OrderSearch): Promise<string[]> {
  const rows = await client.$queryRaw<{ key: string }[]>(searchOrdersSql(search));
  return rows.map((r) => r.key);
}
