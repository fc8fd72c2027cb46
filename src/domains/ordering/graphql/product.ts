/** Product: the ProductView read model (the catalogue), and the `product` and `products` queries. */
import { idCursor } from "../../../core/cursor.ts";
import { rowKey } from "../../../core/row-key.ts";
import type { ProductView as ProductRow } from "../../../generated/prisma/client.ts";
import type { StagelineBuilder } from "../../../graphql/builder.ts";
import { findByKey, readAfterArgs, readModelConnection } from "./shared.ts";

// Cursors are bound to their connection and tenant (src/core/cursor.ts).
const productsCursor = idCursor("products");

export function productType(builder: StagelineBuilder) {
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

  builder.queryField("product", (t) =>
    t.prismaField({
      authScopes: { anyRole: ["clerk", "catalog", "auditor"] },
      type: Product,
      nullable: true,
      args: { id: t.arg.id({ required: true }), ...readAfterArgs(t) },
      resolve: (query, _root, args, ctx) =>
        findByKey(ctx, args, args.id, (key) => ctx.prisma.productView.findUnique({ ...query, where: { key } })),
    }),
  );

  builder.queryField("products", (t) =>
    t.connection({
      authScopes: { anyRole: ["clerk", "catalog", "auditor"] },
      type: Product,
      description: "The catalogue, by ID.",
      args: { ...readAfterArgs(t) },
      resolve: (_root, args, ctx) => {
        // Keyset on the row key (indexed): the cursor holds the ID, turned back into its key here.
        const keyOf = (id: string) => rowKey(ctx.tenantId, id);
        return readModelConnection(ctx, args, {
          codec: productsCursor,
          valueOf: (product: ProductRow) => product.id,
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
      },
    }),
  );
  return Product;
}
