/**
 * What the ordering context's GraphQL files share: the page sizes, the read-your-writes
 * arguments (src/graphql/read-after.ts), the lookup of one read-model row by its key in the
 * caller's tenant, and a page of read-model rows behind keyset cursors.
 */

import type { CursorCodec } from "../../../core/cursor.ts";
import { rowKey } from "../../../core/row-key.ts";
import type { GraphQLContext } from "../../../graphql/builder.ts";
import { withErrorCodes } from "../../../graphql/errors.ts";
import { type ConnectionArgs, type KeysetPage, keysetConnection } from "../../../graphql/keyset-connection.ts";
import { type ReadAfterArgs, readAfter } from "../../../graphql/read-after.ts";

export const PAGE = { defaultSize: 20, maxSize: 100 } as const;

/** Runs a resolver's work so that our typed errors reach the client with their codes. */
export const coded = <T>(work: () => Promise<T>): Promise<T> => withErrorCodes(work)();

export { readAfterArgs } from "../../../graphql/read-after.ts";

/** Waits as the read-your-writes arguments ask, then reads the row keyed by `id` in the caller's tenant. */
export const findByKey = <T>(
  ctx: Pick<GraphQLContext, "readAfter" | "positions" | "tenantId">,
  args: ReadAfterArgs,
  id: string | number,
  find: (key: string) => Promise<T>,
): Promise<T> =>
  coded(async () => {
    await readAfter(ctx, args);
    return find(rowKey(ctx.tenantId, String(id)));
  });

/** Waits as the read-your-writes arguments ask, then reads one page of a keyset connection (PAGE sizes). */
export const readModelConnection = <Row, V>(
  ctx: Pick<GraphQLContext, "readAfter" | "positions" | "tenantId">,
  args: ConnectionArgs & ReadAfterArgs,
  options: { codec: CursorCodec<V>; valueOf(row: Row): V; page(page: KeysetPage<V>): Promise<Row[]> },
) =>
  coded(async () => {
    await readAfter(ctx, args);
    return keysetConnection({ args, tenantId: ctx.tenantId, ...PAGE, ...options });
  });
