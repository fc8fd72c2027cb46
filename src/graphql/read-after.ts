/**
 * Read-your-writes, one argument set for every read-model query: `afterCommand` and
 * `minPosition`, each a bounded wait until the projections have passed that point (READ_NOT_READY
 * when they do not in time). A query spreads `readAfterArgs(t)` into its arguments and awaits
 * `readAfter(ctx, args)` before it reads, so every context's queries take the same arguments,
 * described the same way, and a new kind of wait is added here once.
 */
import type { GraphQLContext, StagelineBuilder } from "./builder.ts";

type QueryFieldBuilder = Parameters<Parameters<StagelineBuilder["queryField"]>[1]>[0];

export const readAfterArgs = (t: QueryFieldBuilder) => ({
  afterCommand: t.arg.id({ description: "Wait (bounded) until the projections have passed this command." }),
  minPosition: t.arg({
    type: "BigInt",
    description: "Wait (bounded) until the projections have passed this log position.",
  }),
});

export interface ReadAfterArgs {
  afterCommand?: string | number | null;
  minPosition?: bigint | null;
}

/** Waits for what the query's read-your-writes arguments ask (nothing when they are absent). */
export function readAfter(ctx: Pick<GraphQLContext, "readAfter">, args: ReadAfterArgs): Promise<void> {
  return ctx.readAfter({
    commandId: args.afterCommand ? String(args.afterCommand) : null,
    position: args.minPosition ?? null,
  });
}
