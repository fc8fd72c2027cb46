/**
 * The ordering context's read side in GraphQL: orders (summary and detail), customers with
 * their statistics, products, and the order search. Every query reads the read models through
 * the Pothos Prisma plugin, pages with cursors, and can wait for a command (read-your-writes).
 * One GraphQL type per file, as in Pothos's larger examples; this file puts them together.
 */
import type { StagelineBuilder } from "../../../graphql/builder.ts";
import { customerType } from "./customer.ts";
import { customerStatsType } from "./customer-stats.ts";
import { orderTypes } from "./order.ts";
import { orderLineType } from "./order-line.ts";
import { orderListQueries } from "./order-lists.ts";
import { orderStatusEnum } from "./order-status.ts";
import { productType } from "./product.ts";

export function orderingSchema(builder: StagelineBuilder): void {
  const OrderStatus = orderStatusEnum(builder);
  const { OrderSummary } = orderTypes(builder, OrderStatus, orderLineType(builder));
  orderListQueries(builder, OrderSummary, OrderStatus);
  customerType(builder, customerStatsType(builder));
  productType(builder);
}
