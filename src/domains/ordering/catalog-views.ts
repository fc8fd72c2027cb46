/**
 * Customers and products as read models, and the rule that keeps every copy of their names in
 * step: when a name is set (registered or renamed), each order, order line and statistics row
 * that carries a copy is updated in the same transaction.
 */
import { rowKey } from "../../core/row-key.ts";
import type { RecordedEventOfAggregate } from "../../core/subscriptions.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { refreshOrderProductNames } from "../../store/read-models/ordering.ts";
import type { Customer } from "./customer.ts";
import type { Product } from "./product.ts";

type Tx = Prisma.TransactionClient;
type CustomerRecord = RecordedEventOfAggregate<typeof Customer>;
type ProductRecord = RecordedEventOfAggregate<typeof Product>;

export async function applyCustomerEvent(event: CustomerRecord, tx: Tx): Promise<void> {
  const key = rowKey(event.tenantId, event.aggregateId);
  const stamp = { version: event.version, updatedAt: event.createdAt };
  switch (event.type) {
    case "CustomerRegistered": {
      const { name, email } = event.data;
      await tx.customerView.create({
        data: {
          key,
          tenantId: event.tenantId,
          id: event.aggregateId,
          name,
          email,
          createdAt: event.createdAt,
          ...stamp,
        },
      });
      await copyCustomerName(tx, event, name);
      return;
    }
    case "CustomerRenamed": {
      const { name } = event.data;
      await tx.customerView.update({ where: { key }, data: { name, ...stamp } });
      await copyCustomerName(tx, event, name);
      return;
    }
  }
}

async function copyCustomerName(tx: Tx, event: CustomerRecord, name: string): Promise<void> {
  const customer = { tenantId: event.tenantId, customerId: event.aggregateId };
  await tx.orderSummary.updateMany({ where: customer, data: { customerName: name } });
  await tx.customerOrderStats.upsert({
    where: { key: rowKey(event.tenantId, event.aggregateId) },
    create: {
      key: rowKey(event.tenantId, event.aggregateId),
      ...customer,
      customerName: name,
      updatedAt: event.createdAt,
    },
    update: { customerName: name },
  });
}

export async function applyProductEvent(event: ProductRecord, tx: Tx): Promise<void> {
  const key = rowKey(event.tenantId, event.aggregateId);
  const stamp = { version: event.version, updatedAt: event.createdAt };
  switch (event.type) {
    case "ProductRegistered": {
      const { name, price } = event.data;
      await tx.productView.create({
        data: { key, tenantId: event.tenantId, id: event.aggregateId, name, price, ...stamp },
      });
      await copyProductName(tx, event, name);
      return;
    }
    case "ProductRenamed": {
      const { name } = event.data;
      await tx.productView.update({ where: { key }, data: { name, ...stamp } });
      await copyProductName(tx, event, name);
      return;
    }
    case "ProductRepriced": {
      // Placed orders keep the unit price they were ordered at: only the catalogue changes.
      const { price } = event.data;
      await tx.productView.update({ where: { key }, data: { price, ...stamp } });
      return;
    }
  }
}

async function copyProductName(tx: Tx, event: ProductRecord, name: string): Promise<void> {
  const lines = await tx.orderLine.updateMany({
    where: { tenantId: event.tenantId, productId: event.aggregateId },
    data: { productName: name },
  });
  if (lines.count > 0) await refreshOrderProductNames(tx, event.tenantId, event.aggregateId);
}
