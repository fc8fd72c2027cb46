/** OrderLine: one product in an order (the lines of an order's detail). */
import type { StagelineBuilder } from "../../../graphql/builder.ts";

export const orderLineType = (builder: StagelineBuilder) =>
  builder.prismaObject("OrderLine", {
    description: "One product in an order, at the unit price it was ordered at.",
    fields: (t) => ({
      productId: t.exposeID("productId"),
      productName: t.exposeString("productName", { description: "The product's current name." }),
      quantity: t.exposeInt("quantity"),
      unitPrice: t.exposeInt("unitPrice", { description: "In cents, as ordered." }),
      subtotal: t.exposeInt("subtotal", { description: "quantity × unitPrice, in cents." }),
    }),
  });

export type OrderLineRef = ReturnType<typeof orderLineType>;
