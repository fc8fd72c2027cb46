/**
 * The ordering read models, kept by one projection. One, not one per table, on purpose: an
 * order's views copy names from the customer and product views, so they must be written in log
 * order with them — a separate catalogue projection could lag behind and leave a name out.
 * Everything runs in the runner's transaction, with the checkpoint: each event counts once.
 * It declares its tables, so it can be rebuilt without downtime (src/runners/rebuild.ts).
 */
import { defineProjection } from "../../core/processors.ts";
import { type HandledBy, on } from "../../core/subscriptions.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { applyCustomerEvent, applyProductEvent } from "./catalog-views.ts";
import { Customer } from "./customer.ts";
import { applyToCustomerStats } from "./customer-stats.ts";
import { Order } from "./order.ts";
import { applyToOrderViews } from "./order-views.ts";
import { Product } from "./product.ts";

type Tx = Prisma.TransactionClient;

const handles = [on(Customer), on(Product), on(Order)] as const;

export const OrderingViews = defineProjection({
  name: "OrderingViews",
  handles,
  tables: ["ordering_customers", "ordering_products", "order_summaries", "order_lines", "customer_order_stats"],
  async apply(events, tx: Tx) {
    for (const event of events) await applyEvent(event, tx);
  },
});

async function applyEvent(event: HandledBy<typeof handles>, tx: Tx): Promise<void> {
  switch (event.aggregateName) {
    case Customer.name:
      return applyCustomerEvent(event, tx);
    case Product.name:
      return applyProductEvent(event, tx);
    case Order.name:
      await applyToCustomerStats(event, tx);
      return applyToOrderViews(event, tx);
  }
}
