/**
 * History and time travel in GraphQL: `aggregateHistory` (an aggregate's events with their
 * metadata, a cursor connection) and `aggregateState` (its state at a version or a moment).
 * Both read the caller's tenant only, and need the auditor role (AUDIT_READERS) or admin.
 */

import type { HistoryEntry } from "../aggregates/history.ts";
import { subjectOf } from "../auth/scopes.ts";
import { streamVersionCursor } from "../core/cursor.ts";
import type { StagelineBuilder } from "./builder.ts";
import { withErrorCodes } from "./errors.ts";
import { shownCausationId, shownRequestId } from "./positions.ts";

/** The app's one cursor codec (src/core/cursor.ts), bound to the tenant; `page` reads the versions. */
const historyCursor = streamVersionCursor("aggregateHistory");

/** Who may read any aggregate's past: it shows every command's data and sender. */
const AUDIT_READERS = { admin: true, anyRole: ["auditor"] } as const;

export function defineHistoryApi(builder: StagelineBuilder): void {
  const AuditCommand = builder
    .objectRef<{
      type: string;
      contextName: string;
      header: Record<string, unknown>;
      createdAt: Date;
    }>("AuditCommand")
    .implement({
      description: "The command behind an event, as it was sent (kept for the retention window).",
      fields: (t) => ({
        type: t.exposeString("type"),
        contextName: t.exposeString("contextName"),
        sentBy: t.string({
          nullable: true,
          description: "The subject of the credential that sent it (null: sent without authentication, or by a saga).",
          resolve: (c) => subjectOf(c.header) ?? null,
        }),
        header: t.field({
          type: "JSON",
          description: "Caller data recorded with the command.",
          resolve: (c) => c.header,
        }),
        createdAt: t.field({ type: "DateTime", resolve: (c) => c.createdAt }),
      }),
    });

  const AggregateEvent = builder.objectRef<HistoryEntry>("AggregateEvent").implement({
    description: "One event of an aggregate, with where it came from: an audit trail entry.",
    fields: (t) => ({
      position: t.field({
        type: "Position",
        description: "Where the event is in the log, as a token for minPosition.",
        resolve: (e, _args, ctx) => ctx.positions.encode(e.event.position),
      }),
      version: t.int({ description: "The aggregate's version after this event.", resolve: (e) => e.event.version }),
      type: t.string({ resolve: (e) => e.event.type }),
      schemaVersion: t.int({
        description: "The event's stored shape (before upcasting).",
        resolve: (e) => e.event.schemaVersion,
      }),
      data: t.field({ type: "JSON", description: "As stored.", resolve: (e) => e.event.data }),
      commandId: t.id({ resolve: (e) => e.event.commandId }),
      requestId: t.string({ resolve: (e, _args, ctx) => shownRequestId(ctx.positions, e.event.requestId) }),
      correlationId: t.id({
        description: "The root command of the causal chain.",
        resolve: (e) => e.event.correlationId,
      }),
      causationId: t.string({
        description: "What caused the command: a command ID, or event:<position token> for saga commands.",
        resolve: (e, _args, ctx) => shownCausationId(ctx.positions, e.event.causationId),
      }),
      createdAt: t.field({ type: "DateTime", resolve: (e) => e.event.createdAt }),
      command: t.field({
        type: AuditCommand,
        nullable: true,
        description: "The command that caused the event; null once it is past its retention window.",
        resolve: (e) => e.command ?? null,
      }),
    }),
  });

  builder.queryField("aggregateHistory", (t) =>
    t.connection(
      {
        type: AggregateEvent,
        authScopes: AUDIT_READERS,
        description:
          "An aggregate's events, oldest first, with their metadata (errors: UNKNOWN_AGGREGATE, INVALID_CURSOR, INVALID_PAGE).",
        args: {
          aggregate: t.arg.string({ required: true, description: "The aggregate type, e.g. Account." }),
          id: t.arg.id({ required: true }),
        },
        resolve: withErrorCodes(async (_root, args, ctx) => {
          const version = (cursor: string | null | undefined) =>
            cursor == null ? null : historyCursor.decode(ctx.tenantId, cursor);
          const page = await ctx.history.page(ctx.tenantId, args.aggregate, String(args.id), {
            first: args.first,
            last: args.last,
            after: version(args.after),
            before: version(args.before),
          });
          const edges = page.entries.map((entry) => ({
            cursor: historyCursor.encode(ctx.tenantId, entry.event.version),
            node: entry,
          }));
          return {
            edges,
            pageInfo: {
              hasNextPage: page.hasNextPage,
              hasPreviousPage: page.hasPreviousPage,
              startCursor: edges[0]?.cursor ?? null,
              endCursor: edges.at(-1)?.cursor ?? null,
            },
          };
        }),
      },
      { name: "AggregateHistoryConnection" },
      { name: "AggregateHistoryEdge" },
    ),
  );

  const AggregateStateAt = builder
    .objectRef<{ aggregate: string; id: string; state: unknown; version: number; at: Date }>("AggregateStateAt")
    .implement({
      description: "An aggregate's state replayed from its events up to a point.",
      fields: (t) => ({
        aggregate: t.exposeString("aggregate"),
        id: t.exposeID("id"),
        state: t.field({
          type: "JSON",
          description: "The decider's state (upcasters applied).",
          resolve: (s) => s.state,
        }),
        version: t.exposeInt("version", { description: "The last event replayed." }),
        at: t.field({ type: "DateTime", description: "When that event was written.", resolve: (s) => s.at }),
      }),
    });

  builder.queryField("aggregateState", (t) =>
    t.field({
      type: AggregateStateAt,
      nullable: true,
      authScopes: AUDIT_READERS,
      description:
        "Time travel: the aggregate's state after version `atVersion`, or as it was at `atTime` (neither: now), computed from the log. Null when it had no events yet then. Errors: UNKNOWN_AGGREGATE, AMBIGUOUS_POINT_IN_TIME (both given), VERSION_OUT_OF_RANGE.",
      args: {
        aggregate: t.arg.string({ required: true }),
        id: t.arg.id({ required: true }),
        atVersion: t.arg.int(),
        atTime: t.arg({ type: "DateTime" }),
      },
      resolve: withErrorCodes(async (_root, args, ctx) => {
        const found = await ctx.history.stateAt(ctx.tenantId, args.aggregate, String(args.id), {
          atVersion: args.atVersion,
          atTime: args.atTime,
        });
        return found ? { aggregate: args.aggregate, id: String(args.id), ...found } : null;
      }),
    }),
  );
}
