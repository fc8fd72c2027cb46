/**
 * Read-your-writes, one argument set for every read-model query: `afterCommand`, `afterChain`
 * and `minPosition`, each a bounded wait until the projections have passed that point
 * (READ_NOT_READY when they do not in time). `afterChain` waits for the whole chain a command
 * started (every command sagas sent under it, projected), so a client that sent a transfer reads
 * both accounts after it without knowing the saga's commands. A query spreads `readAfterArgs(t)` into its arguments and awaits
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
    type: "BigInt",
    description: "Wait (bounded) until the projections have passed this log position.",
  }),
});

export interface ReadAfterArgs {
  afterCommand?: string | number | null;
  afterChain?: string | number | null;
  minPosition?: bigint | null;
}

/** Waits for what the query's read-your-writes arguments ask (nothing when they are absent). */
export function readAfter(ctx: Pick<GraphQLContext, "readAfter">, args: ReadAfterArgs): Promise<void> {
  return ctx.readAfter({
    commandId: args.afterCommand ? String(args.afterCommand) : null,
    chainOf: args.afterChain ? String(args.afterChain) : null,
    position: args.minPosition ?? null,
  });
}
