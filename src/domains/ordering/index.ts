/**
 * The ordering bounded context: customers, products and their orders, with denormalized read
 * models (order summaries and details, customer statistics) and an order search.
 */
import { defineContext } from "../../core/context.ts";
import type { SchemaExtension } from "../../graphql/schema.ts";
import { Customer } from "./customer.ts";
import { orderingSchema } from "./graphql/index.ts";
import { Order } from "./order.ts";
import { Product } from "./product.ts";
import { OrderingViews } from "./projection.ts";

export const ordering = defineContext<SchemaExtension>({
  name: "ordering",
  aggregates: [Customer, Product, Order],
  processors: [OrderingViews],
  schema: orderingSchema,
});
