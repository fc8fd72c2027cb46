/**
 * The ordering context's read side in GraphQL: orders (summary and detail), customers with
 * their statistics, products, and the order search. Every query reads the read models through
 * the Pothos Prisma plugin, pages with cursors, and can wait for a command (read-your-writes).
 */

import { idCursor, positionCursor } from "../../core/cursor.ts";
import { oneOf } from "../../core/enums.ts";
import { rowKey } from "../../core/row-key.ts";
import type PrismaTypes from "../../generated/pothos-prisma-types.ts";
import type { OrderSummary as OrderSummaryRow, ProductView as ProductRow } from "../../generated/prisma/client.ts";
import type { StagelineBuilder } from "../../graphql/builder.ts";
import { withErrorCodes } from "../../graphql/errors.ts";
import { keysetConnection } from "../../graphql/keyset-connection.ts";
import { readAfter, readAfterArgs } from "../../graphql/read-after.ts";
import { ORDER_STATUSES } from "./order-status.ts";
import { searchOrderKeys } from "./sql.ts";

// Cursors are bound to their connection and tenant (src/core/cursor.ts).
const ordersByCustomerCursor = positionCursor("ordersByCustomer");
const searchOrdersCursor = positionCursor("searchOrders");
const productsCursor = idCursor("products");

type SchemaTypesOf<B> = B extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
type OrderFieldBuilder = PothosSchemaTypes.PrismaObjectFieldBuilder<
  SchemaTypesOf<StagelineBuilder>,
  PrismaTypes["OrderSummary"]
>;

/** Runs a resolver's work so that our typed errors reach the client with their codes. */
const coded = <T>(work: () => Promise<T>): Promise<T> => withErrorCodes(work)();

const PAGE = { defaultSize: 20, maxSize: 100 } as const;
const SEARCH_TEXT_MAX = 200;

export function orderingSchema(builder: StagelineBuilder): void {
  const OrderStatusEnum = builder.enumType("OrderStatus", { values: ORDER_STATUSES });

  const OrderLine = builder.prismaObject("OrderLine", {
    description: "One product in an order, at the unit price it was ordered at.",
    fields: (t) => ({
      productId: t.exposeID("productId"),
      productName: t.exposeString("productName", { description: "The product's current name." }),
      quantity: t.exposeInt("quantity"),
      unitPrice: t.exposeInt("unitPrice", { description: "In cents, as ordered." }),
      subtotal: t.exposeInt("subtotal", { description: "quantity × unitPrice, in cents." }),
    }),
  });

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

  const Product = builder.prismaObject("ProductView", {
    name: "Product",
    description: "A catalogue product (the ProductView read model).",
    fields: (t) => ({
      id: t.exposeID("id"),
      name: t.exposeString("name"),
      price: t.exposeInt("price", { description: "Catalogue price in cents." }),
      version: t.exposeInt("version"),
      updatedAt: t.field({ type: "DateTime", resolve: (p) => p.updatedAt }),
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
        coded(async () => {
          await readAfter(ctx, args);
          return ctx.prisma.orderSummary.findUnique({
            ...query,
            where: { key: rowKey(ctx.tenantId, String(args.id)) },
          });
        }),
    }),
  );

  builder.queryField("ordersByCustomer", (t) =>
    t.connection({
      authScopes: { anyRole: ["clerk", "auditor"] },
      type: OrderSummary,
      description: "A customer's orders, newest first, optionally of one status.",
      args: { customerId: t.arg.id({ required: true }), status: t.arg({ type: OrderStatusEnum }), ...readAfterArgs(t) },
      resolve: (_root, args, ctx) =>
        coded(async () => {
          await readAfter(ctx, args);
          return keysetConnection({
            args,
            tenantId: ctx.tenantId,
            codec: ordersByCustomerCursor,
            valueOf: (order: OrderSummaryRow) => order.createdPosition,
            ...PAGE,
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
          });
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
        coded(async () => {
          await readAfter(ctx, args);
          return keysetConnection({
            args,
            tenantId: ctx.tenantId,
            codec: searchOrdersCursor,
            valueOf: (order: OrderSummaryRow) => order.createdPosition,
            ...PAGE,
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
          });
        }),
    }),
  );

  builder.queryField("customer", (t) =>
    t.prismaField({
      authScopes: { anyRole: ["clerk", "auditor"] },
      type: Customer,
      nullable: true,
      args: { id: t.arg.id({ required: true }), ...readAfterArgs(t) },
      resolve: (query, _root, args, ctx) =>
        coded(async () => {
          await readAfter(ctx, args);
          return ctx.prisma.customerView.findUnique({
            ...query,
            where: { key: rowKey(ctx.tenantId, String(args.id)) },
          });
        }),
    }),
  );

  builder.queryField("customerStats", (t) =>
    t.prismaField({
      authScopes: { anyRole: ["clerk", "auditor"] },
      type: CustomerStats,
      nullable: true,
      description: "A customer's order statistics.",
      args: { customerId: t.arg.id({ required: true }), ...readAfterArgs(t) },
      resolve: (query, _root, args, ctx) =>
        coded(async () => {
          await readAfter(ctx, args);
          return ctx.prisma.customerOrderStats.findUnique({
            ...query,
            where: { key: rowKey(ctx.tenantId, String(args.customerId)) },
          });
        }),
    }),
  );

  builder.queryField("product", (t) =>
    t.prismaField({
      authScopes: { anyRole: ["clerk", "catalog", "auditor"] },
      type: Product,
      nullable: true,
      args: { id: t.arg.id({ required: true }), ...readAfterArgs(t) },
      resolve: (query, _root, args, ctx) =>
        coded(async () => {
          await readAfter(ctx, args);
          return ctx.prisma.productView.findUnique({ ...query, where: { key: rowKey(ctx.tenantId, String(args.id)) } });
        }),
    }),
  );

  builder.queryField("products", (t) =>
    t.connection({
      authScopes: { anyRole: ["clerk", "catalog", "auditor"] },
      type: Product,
      description: "The catalogue, by ID.",
      args: { ...readAfterArgs(t) },
      resolve: (_root, args, ctx) =>
        coded(async () => {
          await readAfter(ctx, args);
          // Keyset on the row key (indexed): the cursor holds the ID, turned back into its key here.
          const keyOf = (id: string) => rowKey(ctx.tenantId, id);
          return keysetConnection({
            args,
            tenantId: ctx.tenantId,
            codec: productsCursor,
            valueOf: (product: ProductRow) => product.id,
            ...PAGE,
            page: ({ after, before, limit, inverted }) =>
              ctx.prisma.productView.findMany({
                where: {
                  tenantId: ctx.tenantId,
                  key: {
                    ...(after !== undefined ? { gt: keyOf(after) } : {}),
                    ...(before !== undefined ? { lt: keyOf(before) } : {}),
                  },
                },
                orderBy: { key: inverted ? "desc" : "asc" },
                take: limit,
              }),
          });
        }),
    }),
  );
}
