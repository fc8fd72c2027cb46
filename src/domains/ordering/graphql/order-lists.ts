/**
 * The order lists: a customer's orders (`ordersByCustomer`) and the full-text search
 * (`searchOrders`, its statement in src/store/read-models/ordering.ts), both newest first with
 * keyset cursors over the order's creation position.
 */
import { positionCursor } from "../../../core/cursor.ts";
import type { OrderSummary as OrderSummaryRow } from "../../../generated/prisma/client.ts";
import type { StagelineBuilder } from "../../../graphql/builder.ts";
import { searchOrderKeys } from "../../../store/read-models/ordering.ts";
import type { OrderSummaryRef } from "./order.ts";
import type { OrderStatusRef } from "./order-status.ts";
import { readAfterArgs, readModelConnection } from "./shared.ts";

// Cursors are bound to their connection and tenant (src/core/cursor.ts).
const ordersByCustomerCursor = positionCursor("ordersByCustomer");
const searchOrdersCursor = positionCursor("searchOrders");
const SEARCH_TEXT_MAX = 200;

export function orderListQueries(
  builder: StagelineBuilder,
  OrderSummary: OrderSummaryRef,
  OrderStatusEnum: OrderStatusRef,
) {
  builder.queryField("ordersByCustomer", (t) =>
    t.connection({
      authScopes: { anyRole: ["clerk", "auditor"] },
      type: OrderSummary,
      description: "A customer's orders, newest first, optionally of one status.",
      args: { customerId: t.arg.id({ required: true }), status: t.arg({ type: OrderStatusEnum }), ...readAfterArgs(t) },
      resolve: (_root, args, ctx) =>
        readModelConnection(ctx, args, {
          codec: ordersByCustomerCursor,
          valueOf: (order: OrderSummaryRow) => order.createdPosition,
          // Newest first: `after` is older (a lower position), `before` newer.
          page: ({ after, before, limit, inverted }) =>
            ctx.prisma.orderSummary.findMany({
              where: {
                tenantId: ctx.tenantId,
                customerId: String(args.customerId),
                ...(args.status ? { status: args.status } : {}),
                createdPosition: {
                  ...(after !== undefined ? { lt: after } : {}),
                  ...(before !== undefined ? { gt: before } : {}),
                },
              },
              orderBy: { createdPosition: inverted ? "asc" : "desc" },
              take: limit,
            }),
        }),
    }),
  );

  builder.queryField("searchOrders", (t) =>
    t.connection({
      authScopes: { anyRole: ["clerk", "auditor"] },
      type: OrderSummary,
      description:
        "Orders whose ID, customer name or product names hold every word of `text` (as a word prefix, case-insensitive), newest first. `from` is inclusive, `to` exclusive (creation time).",
      args: {
        text: t.arg.string({ required: true }),
        from: t.arg({ type: "DateTime" }),
        to: t.arg({ type: "DateTime" }),
        status: t.arg({ type: OrderStatusEnum }),
        ...readAfterArgs(t),
      },
      resolve: (_root, args, ctx) =>
        readModelConnection(ctx, args, {
          codec: searchOrdersCursor,
          valueOf: (order: OrderSummaryRow) => order.createdPosition,
          page: async ({ after, before, limit, inverted }) => {
            const keys = await searchOrderKeys(ctx.prisma, {
              tenantId: ctx.tenantId,
              text: args.text.slice(0, SEARCH_TEXT_MAX),
              from: args.from ?? null,
              to: args.to ?? null,
              status: args.status ?? null,
              beyond: (inverted ? before : after) ?? null,
              inverted,
              limit,
            });
            if (keys.length === 0) return [];
            const rows = await ctx.prisma.orderSummary.findMany({ where: { key: { in: keys } } });
            const byKey = new Map(rows.map((row) => [row.key, row]));
            return keys.flatMap((key) => byKey.get(key) ?? []);
          },
        }),
    }),
  );
}
