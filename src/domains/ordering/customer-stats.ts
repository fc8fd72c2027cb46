/**
 * Per-customer order statistics. Projected before the order's own views for the same event,
 * so a cancellation still sees whether the order had been submitted (and counted as spent).
 */
import { rowKey } from "../../core/row-key.ts";
import type { RecordedEventOfAggregate } from "../../core/subscriptions.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import type { Order } from "./order.ts";

type Tx = Prisma.TransactionClient;
type OrderRecord = RecordedEventOfAggregate<typeof Order>;

export async function applyToCustomerStats(event: OrderRecord, tx: Tx): Promise<void> {
  switch (event.type) {
    case "OrderCreated": {
      const { customerId } = event.data;
      const key = rowKey(event.tenantId, customerId);
      const existing = await tx.customerOrderStats.findUnique({ where: { key }, select: { firstOrderAt: true } });
      if (existing) {
        await tx.customerOrderStats.update({
          where: { key },
          data: {
            ordersPlaced: { increment: 1 },
            firstOrderAt: existing.firstOrderAt ?? event.createdAt,
            lastOrderAt: event.createdAt,
            updatedAt: event.createdAt,
          },
        });
      } else {
        // The customer is not registered (yet): its name arrives with CustomerRegistered.
        await tx.customerOrderStats.create({
          data: {
            key,
            tenantId: event.tenantId,
            customerId,
            customerName: "",
            ordersPlaced: 1,
            firstOrderAt: event.createdAt,
            lastOrderAt: event.createdAt,
            updatedAt: event.createdAt,
          },
        });
      }
      return;
    }
    case "OrderSubmitted": {
      const { total } = event.data;
      await updateStatsOfOrder(tx, event, { ordersSubmitted: { increment: 1 }, totalSpent: { increment: total } });
      return;
    }
    case "OrderDelivered":
      await updateStatsOfOrder(tx, event, { ordersDelivered: { increment: 1 } });
      return;
    case "OrderCancelled": {
      const order = await tx.orderSummary.findUniqueOrThrow({
        where: { key: rowKey(event.tenantId, event.aggregateId) },
        select: { submittedAt: true, total: true },
      });
      await updateStatsOfOrder(tx, event, {
        ordersCancelled: { increment: 1 },
        // What was counted as spent at submission is no longer spent.
        ...(order.submittedAt ? { totalSpent: { decrement: order.total } } : {}),
      });
      return;
    }
    default:
      return;
  }
}

async function updateStatsOfOrder(
  tx: Tx,
  event: OrderRecord,
  data: Prisma.CustomerOrderStatsUpdateInput,
): Promise<void> {
  const order = await tx.orderSummary.findUniqueOrThrow({
    where: { key: rowKey(event.tenantId, event.aggregateId) },
    select: { customerId: true },
  });
  await tx.customerOrderStats.update({
    where: { key: rowKey(event.tenantId, order.customerId) },
    data: { ...data, updatedAt: event.createdAt },
  });
}
