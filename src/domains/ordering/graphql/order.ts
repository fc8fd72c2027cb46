/**
 * OrderSummary (an order as lists and searches show it) and its OrderDetail variant (with the
 * lines): two GraphQL types of one read model, so one file; with the `order` query.
 */
import { oneOf } from "../../../core/enums.ts";
import type PrismaTypes from "../../../generated/pothos-prisma-types.ts";
import type { StagelineBuilder } from "../../../graphql/builder.ts";
import { ORDER_STATUSES } from "../order-status.ts";
import type { OrderLineRef } from "./order-line.ts";
import type { OrderStatusRef } from "./order-status.ts";
import { findByKey, readAfterArgs } from "./shared.ts";

type SchemaTypesOf<B> = B extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
type OrderFieldBuilder = PothosSchemaTypes.PrismaObjectFieldBuilder<
  SchemaTypesOf<StagelineBuilder>,
  PrismaTypes["OrderSummary"]
>;

export function orderTypes(builder: StagelineBuilder, OrderStatusEnum: OrderStatusRef, OrderLine: OrderLineRef) {
  const summaryFields = (t: Pick<OrderFieldBuilder, "exposeID" | "exposeString" | "exposeInt" | "field">) => ({
    id: t.exposeID("id"),
    customerId: t.exposeID("customerId"),
    customerName: t.exposeString("customerName", { description: "The customer's current name." }),
    status: t.field({ type: OrderStatusEnum, resolve: (o) => oneOf(ORDER_STATUSES, o.status) }),
    itemCount: t.exposeInt("itemCount", { description: "Sum of the lines' quantities." }),
    lineCount: t.exposeInt("lineCount"),
    total: t.exposeInt("total", { description: "In cents." }),
    version: t.exposeInt("version"),
    createdAt: t.field({ type: "DateTime", resolve: (o) => o.createdAt }),
    updatedAt: t.field({ type: "DateTime", resolve: (o) => o.updatedAt }),
    submittedAt: t.field({ type: "DateTime", nullable: true, resolve: (o) => o.submittedAt }),
    confirmedAt: t.field({ type: "DateTime", nullable: true, resolve: (o) => o.confirmedAt }),
    shippedAt: t.field({ type: "DateTime", nullable: true, resolve: (o) => o.shippedAt }),
    deliveredAt: t.field({ type: "DateTime", nullable: true, resolve: (o) => o.deliveredAt }),
    cancelledAt: t.field({ type: "DateTime", nullable: true, resolve: (o) => o.cancelledAt }),
    cancelReason: t.exposeString("cancelReason", { nullable: true }),
    trackingNumber: t.exposeString("trackingNumber", { nullable: true }),
  });

  const OrderSummary = builder.prismaObject("OrderSummary", {
    description: "An order as lists and searches show it (the OrderSummary read model).",
    fields: (t) => summaryFields(t),
  });

  const OrderDetail = builder.prismaObject("OrderSummary", {
    variant: "OrderDetail",
    description: "An order with its lines (the OrderDetail read model).",
    fields: (t) => ({
      // The same fields as OrderSummary (a variant's builder differs only in the model's relations it may load).
      ...summaryFields(t),
      lines: t.relation("lines", { type: OrderLine, query: { orderBy: { lineNo: "asc" } } }),
    }),
  });

  builder.queryField("order", (t) =>
    t.prismaField({
      authScopes: { anyRole: ["clerk", "auditor"] },
      type: OrderDetail,
      nullable: true,
      description: "An order with its lines.",
      args: { id: t.arg.id({ required: true }), ...readAfterArgs(t) },
      resolve: (query, _root, args, ctx) =>
        findByKey(ctx, args, args.id, (key) => ctx.prisma.orderSummary.findUnique({ ...query, where: { key } })),
    }),
  );
  return { OrderSummary, OrderDetail };
}

export type OrderSummaryRef = ReturnType<typeof orderTypes>["OrderSummary"];
