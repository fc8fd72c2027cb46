/**
 * What the ordering context's GraphQL files share: the page sizes, the read-your-writes argument
 * and wait, the lookup of one read-model row by its key in the caller's tenant, and a page of
 * read-model rows behind keyset cursors.
 */

import type { CursorCodec } from "../../../core/cursor.ts";
import { rowKey } from "../../../core/row-key.ts";
import type { GraphQLContext, StagelineBuilder } from "../../../graphql/builder.ts";
import { withErrorCodes } from "../../../graphql/errors.ts";
import { type ConnectionArgs, type KeysetPage, keysetConnection } from "../../../graphql/keyset-connection.ts";

export const PAGE = { defaultSize: 20, maxSize: 100 } as const;

/** Runs a resolver's work so that our typed errors reach the client with their codes. */
export const coded = <T>(work: () => Promise<T>): Promise<T> => withErrorCodes(work)();

type QueryFieldBuilder = Parameters<Parameters<StagelineBuilder["queryField"]>[1]>[0];

export const readAfterArgs = (t: QueryFieldBuilder) => ({
  afterCommand: t.arg.id({ description: "Wait (bounded) until the projections have passed this command." }),
});

export async function readAfter(
  ctx: Pick<GraphQLContext, "readAfter">,
  afterCommand: string | number | null | undefined,
): Promise<void> {
  if (afterCommand !== undefined && afterCommand !== null) await ctx.readAfter({ commandId: String(afterCommand) });
}

/** Waits for `afterCommand` if given, then reads the row keyed by `id` in the caller's tenant. */
export const findByKey = <T>(
  ctx: Pick<GraphQLContext, "readAfter" | "tenantId">,
  args: { afterCommand?: string | number | null },
  id: string | number,
  find: (key: string) => Promise<T>,
): Promise<T> =>
  coded(async () => {
    await readAfter(ctx, args.afterCommand);
    return find(rowKey(ctx.tenantId, String(id)));
  });

/** Waits for `afterCommand` if given, then reads one page of a keyset connection (PAGE sizes). */
export const readModelConnection = <Row, V>(
  ctx: Pick<GraphQLContext, "readAfter" | "tenantId">,
  args: ConnectionArgs & { afterCommand?: string | number | null },
  options: { codec: CursorCodec<V>; valueOf(row: Row): V; page(page: KeysetPage<V>): Promise<Row[]> },
) =>
  coded(async () => {
    await readAfter(ctx, args.afterCommand);
    return keysetConnection({ args, tenantId: ctx.tenantId, ...PAGE, ...options });
  });
