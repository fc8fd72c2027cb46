/**
 * The inventory context's read side in GraphQL (the tutorial's): a SKU's stock from its read
 * model, with read-your-writes. The mutations (setStockLevel, placeHold) come from the commands.
 */
import { rowKey } from "../../core/row-key.ts";
import type { StagelineBuilder } from "../../graphql/builder.ts";
import { readAfter, readAfterArgs } from "../../graphql/read-after.ts";

export function inventorySchema(builder: StagelineBuilder): void {
  const StockView = builder.prismaObject("StockView", {
    description: "A SKU's stock as the StockView projection keeps it.",
    fields: (t) => ({
      sku: t.exposeID("sku"),
      onHand: t.exposeInt("onHand"),
      reserved: t.exposeInt("reserved"),
      free: t.int({ resolve: (s) => s.onHand - s.reserved }),
      version: t.exposeInt("version"),
    }),
  });

  builder.queryField("stock", (t) =>
    t.prismaField({
      authScopes: { anyRole: ["clerk", "catalog", "auditor"] },
      type: StockView,
      nullable: true,
      description: "A SKU's stock from its read model.",
      args: {
        sku: t.arg.id({ required: true }),
        ...readAfterArgs(t),
      },
      resolve: async (query, _root, args, ctx) => {
        await readAfter(ctx, args);
        return ctx.prisma.stockView.findUnique({ ...query, where: { key: rowKey(ctx.tenantId, String(args.sku)) } });
      },
    }),
  );
}
