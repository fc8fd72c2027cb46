/**
 * The StockView read model (the tutorial's): one row per SKU with what is on hand, reserved
 * and free. Written in the runner's transaction with its checkpoint, so each event counts once;
 * it alone writes `stock_views`, which makes it rebuildable.
 */
import { defineProjection } from "../../core/processors.ts";
import { rowKey } from "../../core/row-key.ts";
import { on } from "../../core/subscriptions.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { Stock } from "./stock.ts";

export const StockViewProjection = defineProjection({
  name: "StockView",
  tables: ["stock_views"],
  handles: [on(Stock)],
  async apply(events, tx: Prisma.TransactionClient) {
    for (const event of events) {
      const key = rowKey(event.tenantId, event.aggregateId);
      const stamp = { version: event.version, updatedAt: event.createdAt };
      switch (event.type) {
        case "StockLevelSet":
          await tx.stockView.upsert({
            where: { key },
            create: {
              key,
              tenantId: event.tenantId,
              sku: event.aggregateId,
              onHand: event.data.onHand,
              reserved: 0,
              ...stamp,
            },
            update: { onHand: event.data.onHand, ...stamp },
          });
          break;
        case "StockReserved":
          await tx.stockView.update({
            where: { key },
            data: { reserved: { increment: event.data.quantity }, ...stamp },
          });
          break;
      }
    }
  },
});
