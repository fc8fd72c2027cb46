/**
 * Relay connections over read models, paged by keyset with tenant-bound cursors
 * (src/core/cursor.ts). Replaces the Prisma plugin's `prismaConnection` for our lists: its
 * cursors are the raw row key (`GPC:S:tenant:id`) and Prisma finds the cursor's row first, so a
 * cursor naming another tenant's row answered differently depending on whether that row existed.
 * Here the cursor is decoded (or refused) before any query, and the page is `value > cursor`
 * within the caller's tenant: nothing outside the tenant is ever looked at.
 */
import { resolveCursorConnection } from "@pothos/plugin-relay";
import type { CursorCodec } from "../core/cursor.ts";

export interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/** One page to read: rows beyond `after` and short of `before`, in the connection's order (reversed when `inverted`). */
export interface KeysetPage<V> {
  after: V | undefined;
  before: V | undefined;
  /** Read this many rows (one more than the page, to tell whether there is a next one). */
  limit: number;
  /** `last`/`before` paging: read backwards from `before` (the helper puts the rows back in order). */
  inverted: boolean;
}

export interface Connection<Row> {
  edges: { cursor: string; node: Row }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

export async function keysetConnection<Row, V>(options: {
  args: ConnectionArgs;
  tenantId: string;
  codec: CursorCodec<V>;
  /** The value of the row that its cursor holds (the connection's sort key). */
  valueOf(row: Row): V;
  defaultSize: number;
  maxSize: number;
  page(page: KeysetPage<V>): Promise<Row[]>;
}): Promise<Connection<Row>> {
  const { args, tenantId, codec } = options;
  // Decoded before anything is read: a refused cursor costs no query.
  const after = args.after == null ? undefined : codec.decode(tenantId, args.after);
  const before = args.before == null ? undefined : codec.decode(tenantId, args.before);
  const connection = await resolveCursorConnection(
    {
      args,
      defaultSize: options.defaultSize,
      maxSize: options.maxSize,
      toCursor: (row: unknown) => codec.encode(tenantId, options.valueOf(row as Row)),
    },
    ({ limit, inverted }) => options.page({ after, before, limit, inverted }),
  );
  // The helper's node type is lost in its typings (it infers `unknown`); the nodes are page()'s rows.
  const { edges, pageInfo } = connection as unknown as Connection<Row>;
  // An empty page has no cursors (the helper would echo the argument, or hand out "").
  return edges.length > 0
    ? { edges, pageInfo }
    : { edges, pageInfo: { ...pageInfo, startCursor: null, endCursor: null } };
}
