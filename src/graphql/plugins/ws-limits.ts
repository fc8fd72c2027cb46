/**
 * Operations per graphql-ws socket (WS_MAX_OPERATIONS). One socket that sends thousands of
 * `subscribe` messages holds a wait, a buffer and a timer for each: it grew the server by 1.3 GB
 * in 25 s (issue 13). Past the cap, a new operation fails with TOO_MANY_OPERATIONS (returned,
 * not thrown: the socket and its other operations go on). graphql-ws keeps the socket's
 * operations in `ctx.subscriptions` (the new one included) and removes each when it ends, so the
 * count needs no bookkeeping of its own.
 */
import { GraphQLError } from "graphql";
import { GraphQLCode } from "../errors.ts";

export function tooManyOperations(
  ctx: { subscriptions: Record<string, unknown> },
  max: number,
): GraphQLError | undefined {
  const open = Object.keys(ctx.subscriptions).length;
  if (open <= max) return undefined;
  return new GraphQLError(`At most ${max} operations may run at once on one WebSocket; complete some first`, {
    extensions: { code: GraphQLCode.TOO_MANY_OPERATIONS },
  });
}
