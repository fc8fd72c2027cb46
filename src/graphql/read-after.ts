/**
 * Read-your-writes, one argument set for every read-model query: `afterCommand`, `afterChain`
 * and `minPosition` (a position token, src/graphql/positions.ts), each a bounded wait until the
 * projections have passed that point (READ_NOT_READY when they do not in time). `afterChain` waits
 * for the whole chain a command started (every command sagas sent under it, projected), so a
 * client that sent a transfer reads both accounts after it without knowing the saga's commands.
 * A query spreads `readAfterArgs(t)` into its arguments and awaits
 * `readAfter(ctx, args)` before it reads, so every context's queries take the same arguments,
 * described the same way, and a new kind of wait is added here once.
 */
import type { GraphQLContext, StagelineBuilder } from "./builder.ts";

type QueryFieldBuilder = Parameters<Parameters<StagelineBuilder["queryField"]>[1]>[0];

export const readAfterArgs = (t: QueryFieldBuilder) => ({
  afterCommand: t.arg.id({ description: "Wait (bounded) until the projections have passed this command." }),
  afterChain: t.arg.id({
    description: "Wait (bounded) until the projections have passed this command and every command sagas sent under it.",
  }),
  minPosition: t.arg({
    type: "Position",
    description:
      "Wait (bounded) until the projections have passed this log position (a token from CommandResult.positions; INVALID_POSITION for any other).",
  }),
});

export interface ReadAfterArgs {
  afterCommand?: string | number | null;
  afterChain?: string | number | null;
  minPosition?: string | null;
}

/**
 * Waits for what the query's read-your-writes arguments ask (nothing when they are absent).
 * Async so that a refused token (INVALID_POSITION) rejects, as every other failure here does.
 */
export async function readAfter(
  ctx: Pick<GraphQLContext, "readAfter" | "positions">,
  args: ReadAfterArgs,
): Promise<void> {
  return ctx.readAfter({
    commandId: args.afterCommand ? String(args.afterCommand) : null,
    chainOf: args.afterChain ? String(args.afterChain) : null,
    position: args.minPosition == null ? null : ctx.positions.decode(args.minPosition),
  });
}
