/**
 * The banking queries' read-your-writes arguments (a command or a log position) and the wait
 * they ask for.
 */
import type { GraphQLContext, StagelineBuilder } from "../../../graphql/builder.ts";

type QueryFieldBuilder = Parameters<Parameters<StagelineBuilder["queryField"]>[1]>[0];

export const readAfterArgs = (t: QueryFieldBuilder) => ({
  afterCommand: t.arg.id({ description: "Wait (bounded) until the projections have passed this command." }),
  minPosition: t.arg({
    type: "BigInt",
    description: "Wait (bounded) until the projections have passed this log position.",
  }),
});

export const readAfter = (
  ctx: Pick<GraphQLContext, "readAfter">,
  args: { afterCommand?: string | number | null; minPosition?: bigint | null },
): Promise<void> =>
  ctx.readAfter({
    commandId: args.afterCommand ? String(args.afterCommand) : null,
    position: args.minPosition ?? null,
  });
