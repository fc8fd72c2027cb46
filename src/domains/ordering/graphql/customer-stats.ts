/** CustomerStats: a customer's order statistics, and the `customerStats` query. */
import type { StagelineBuilder } from "../../../graphql/builder.ts";
import { findByKey, readAfterArgs } from "./shared.ts";

export function customerStatsType(builder: StagelineBuilder) {
  const CustomerStats = builder.prismaObject("CustomerOrderStats", {
    name: "CustomerStats",
    description: "A customer's order statistics.",
    fields: (t) => ({
      customerId: t.exposeID("customerId"),
      customerName: t.exposeString("customerName"),
      ordersPlaced: t.exposeInt("ordersPlaced"),
      ordersSubmitted: t.exposeInt("ordersSubmitted"),
      ordersDelivered: t.exposeInt("ordersDelivered"),
      ordersCancelled: t.exposeInt("ordersCancelled"),
      totalSpent: t.field({
        type: "BigInt",
        description: "Sum of the totals of submitted orders not cancelled, in cents.",
        resolve: (s) => s.totalSpent,
      }),
      firstOrderAt: t.field({ type: "DateTime", nullable: true, resolve: (s) => s.firstOrderAt }),
      lastOrderAt: t.field({ type: "DateTime", nullable: true, resolve: (s) => s.lastOrderAt }),
    }),
  });

  builder.queryField("customerStats", (t) =>
    t.prismaField({
      authScopes: { anyRole: ["clerk", "auditor"] },
      type: CustomerStats,
      nullable: true,
      description: "A customer's order statistics.",
      args: { customerId: t.arg.id({ required: true }), ...readAfterArgs(t) },
      resolve: (query, _root, args, ctx) =>
        findByKey(ctx, args, args.customerId, (key) =>
          ctx.prisma.customerOrderStats.findUnique({ ...query, where: { key } }),
        ),
    }),
  );
  return CustomerStats;
}

export type CustomerStatsRef = ReturnType<typeof customerStatsType>;
