/**
 * OrderSummary (one row per order, for lists and search) and its detail (OrderLine rows), with
 * the customer's and the products' names copied in from the catalogue views at the time the
 * event is projected (later renames are followed by catalog-views.ts).
 */
import { rowKey } from "../../core/row-key.ts";
import type { RecordedEventOfAggregate } from "../../core/subscriptions.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import type { Order } from "./order.ts";

type Tx = Prisma.TransactionClient;
type OrderRecord = RecordedEventOfAggregate<typeof Order>;

export async function applyToOrderViews(event: OrderRecord, tx: Tx): Promise<void> {
  const key = rowKey(event.tenantId, event.aggregateId);
  const stamp = { version: event.version, updatedAt: event.createdAt };
  /** The order moved on to a new status (and what came with it): its summary row says so. */
  const advance = (data: Prisma.OrderSummaryUpdateInput) =>
    tx.orderSummary.update({ where: { key }, data: { ...data, ...stamp } });
  switch (event.type) {
    case "OrderCreated": {
      const { customerId } = event.data;
      const customer = await tx.customerView.findUnique({
        where: { key: rowKey(event.tenantId, customerId) },
        select: { name: true },
      });
      await tx.orderSummary.create({
        data: {
          key,
          tenantId: event.tenantId,
          id: event.aggregateId,
          customerId,
          // An order may name a customer not (yet) registered: its name arrives with CustomerRegistered.
          customerName: customer?.name ?? "",
          status: "DRAFT",
          itemCount: 0,
          lineCount: 0,
          total: 0,
          createdPosition: event.position,
          createdAt: event.createdAt,
          ...stamp,
        },
      });
      return;
    }
    case "ItemAdded": {
      const { productId, quantity, unitPrice } = event.data;
      const line = rowKey(event.tenantId, event.aggregateId, productId);
      const existing = await tx.orderLine.findUnique({ where: { key: line }, select: { key: true } });
      const amount = quantity * unitPrice;
      if (existing) {
        await tx.orderLine.update({
          where: { key: line },
          data: { quantity: { increment: quantity }, subtotal: { increment: amount } },
        });
      } else {
        const order = await tx.orderSummary.findUniqueOrThrow({
          where: { key },
          select: { lineCount: true, productNames: true },
        });
        const product = await tx.productView.findUnique({
          where: { key: rowKey(event.tenantId, productId) },
          select: { name: true },
        });
        const productName = product?.name ?? "";
        await tx.orderLine.create({
          data: {
            key: line,
            orderKey: key,
            tenantId: event.tenantId,
            productId,
            productName,
            quantity,
            unitPrice,
            subtotal: amount,
            lineNo: order.lineCount + 1,
          },
        });
        await tx.orderSummary.update({
          where: { key },
          data: { lineCount: { increment: 1 }, productNames: joinNames(order.productNames, productName) },
        });
      }
      await tx.orderSummary.update({
        where: { key },
        data: { itemCount: { increment: quantity }, total: { increment: amount }, ...stamp },
      });
      return;
    }
    case "ItemRemoved": {
      const { productId } = event.data;
      const removed = await tx.orderLine.delete({
        where: { key: rowKey(event.tenantId, event.aggregateId, productId) },
      });
      const names = await tx.orderLine.findMany({
        where: { orderKey: key },
        orderBy: { lineNo: "asc" },
        select: { productName: true },
      });
      await tx.orderSummary.update({
        where: { key },
        data: {
          itemCount: { decrement: removed.quantity },
          total: { decrement: removed.subtotal },
          lineCount: { decrement: 1 },
          productNames: names.map((n) => n.productName).reduce(joinNames, ""),
          ...stamp,
        },
      });
      return;
    }
    case "OrderSubmitted":
      await advance({ status: "SUBMITTED", submittedAt: event.createdAt });
      return;
    case "OrderConfirmed":
      await advance({ status: "CONFIRMED", confirmedAt: event.createdAt });
      return;
    case "OrderShipped": {
      const { trackingNumber } = event.data;
      await advance({ status: "SHIPPED", shippedAt: event.createdAt, trackingNumber: trackingNumber || null });
      return;
    }
    case "OrderDelivered":
      await advance({ status: "DELIVERED", deliveredAt: event.createdAt });
      return;
    case "OrderCancelled": {
      const { reason } = event.data;
      await advance({ status: "CANCELLED", cancelledAt: event.createdAt, cancelReason: reason || null });
      return;
    }
  }
}

const joinNames = (names: string, name: string): string => (names && name ? `${names} ${name}` : names || name);
