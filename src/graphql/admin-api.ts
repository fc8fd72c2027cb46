/**
 * Admin operations in GraphQL: rebuild a projection without downtime and follow its progress.
 * Each declares the admin scope (AUTH_ADMIN_ROLE when authentication is on), checked before it runs.
 */
import type { RebuildProgress } from "../runners/rebuild.ts";
import type { StagelineBuilder } from "./builder.ts";
import { withErrorCodes } from "./errors.ts";

export function defineAdminApi(builder: StagelineBuilder): void {
  const RebuildState = builder.enumType("RebuildState", {
    description: "REPLAYING: filling shadow tables from the log. SWAPPING: swapping them in. Then DONE or FAILED.",
    values: ["REPLAYING", "SWAPPING", "DONE", "FAILED"] as const,
  });

  const Progress = builder.objectRef<RebuildProgress>("RebuildProgress").implement({
    description: "Where a projection rebuild stands.",
    fields: (t) => ({
      rebuildId: t.exposeID("rebuildId"),
      projection: t.exposeString("projection", { description: "context.name" }),
      tables: t.exposeStringList("tables"),
      state: t.field({ type: RebuildState, resolve: (p) => p.state }),
      processed: t.exposeInt("processed", { description: "Log events replayed so far." }),
      total: t.exposeInt("total", { description: "Events in the log (estimate; grows with appends)." }),
      percent: t.exposeFloat("percent"),
      eventsPerSecond: t.exposeFloat("eventsPerSecond"),
      startedAt: t.field({ type: "DateTime", resolve: (p) => p.startedAt }),
      finishedAt: t.field({ type: "DateTime", nullable: true, resolve: (p) => p.finishedAt }),
      errorCode: t.exposeString("errorCode", { nullable: true }),
      errorMsg: t.exposeString("errorMsg", { nullable: true }),
    }),
  });

  const PROJECTION = "context.name (banking.AccountView) or, when unambiguous, the name (AccountView).";

  builder.mutationField("rebuildProjection", (t) =>
    t.field({
      type: Progress,
      authScopes: { admin: true },
      description:
        "Rebuilds a projection from the log into shadow tables and swaps them in; readers see the old rows until then. Returns at once (or, with wait, when done). Errors: UNKNOWN_PROJECTION, PROJECTION_NOT_REBUILDABLE, REBUILD_IN_PROGRESS.",
      args: {
        projection: t.arg.string({ required: true, description: PROJECTION }),
        wait: t.arg.boolean({ description: "Answer when the rebuild has finished (default false)." }),
      },
      resolve: withErrorCodes(async (_root, args, ctx) => {
        const job = await ctx.rebuilds.start(args.projection);
        return args.wait ? job.done : job.progress;
      }),
    }),
  );

  builder.queryField("projectionRebuild", (t) =>
    t.field({
      type: Progress,
      authScopes: { admin: true },
      nullable: true,
      description: "The latest rebuild of the projection this server ran (null: none).",
      args: { projection: t.arg.string({ required: true, description: PROJECTION }) },
      resolve: withErrorCodes(async (_root, args, ctx) => {
        return ctx.rebuilds.latest(args.projection)?.progress ?? null;
      }),
    }),
  );

  builder.subscriptionField("projectionRebuild", (t) =>
    t.field({
      type: Progress,
      authScopes: { admin: true },
      description:
        "The latest rebuild's progress (events/s, percent) until it is DONE or FAILED. Ends at once when there is none.",
      args: { projection: t.arg.string({ required: true, description: PROJECTION }) },
      subscribe: withErrorCodes(async (_root, args, ctx) => {
        const job = ctx.rebuilds.latest(args.projection);
        return job ? job.watch() : empty();
      }),
      resolve: (progress) => progress as RebuildProgress,
    }),
  );
}

async function* empty(): AsyncGenerator<RebuildProgress> {}
