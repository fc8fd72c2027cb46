/** Customer: the CustomerView read model with its statistics, and the `customer` query. */
import type { StagelineBuilder } from "../../../graphql/builder.ts";
import type { CustomerStatsRef } from "./customer-stats.ts";
import { findByKey, readAfterArgs } from "./shared.ts";

export function customerType(builder: StagelineBuilder, CustomerStats: CustomerStatsRef) {
  const Customer = builder.prismaObject("CustomerView", {
    name: "Customer",
    description: "A customer (the CustomerView read model).",
    fields: (t) => ({
      id: t.exposeID("id"),
      name: t.exposeString("name"),
      email: t.exposeString("email"),
      version: t.exposeInt("version"),
      createdAt: t.field({ type: "DateTime", resolve: (c) => c.createdAt }),
      updatedAt: t.field({ type: "DateTime", resolve: (c) => c.updatedAt }),
      stats: t.prismaField({
        type: CustomerStats,
        nullable: true,
        resolve: (query, customer, _args, ctx) =>
          ctx.prisma.customerOrderStats.findUnique({ ...query, where: { key: customer.key } }),
      }),
    }),
  });

  builder.queryField("customer", (t) =>
    t.prismaField({
      authScopes: { anyRole: ["clerk", "auditor"] },
      type: Customer,
      nullable: true,
      args: { id: t.arg.id({ required: true }), ...readAfterArgs(t) },
      resolve: (query, _root, args, ctx) =>
        findByKey(ctx, args, args.id, (key) => ctx.prisma.customerView.findUnique({ ...query, where: { key } })),
    }),
  );
  return Customer;
}
