/**
 * The inventory bounded context, built step by step in docs/tutorial.md: stock per SKU and
 * customers' holds on it, joined by a saga.
 */
import { defineContext } from "../../core/context.ts";
import type { SchemaExtension } from "../../graphql/schema.ts";
import { inventorySchema } from "./graphql.ts";
import { Hold } from "./hold.ts";
import { HoldSaga } from "./hold-saga.ts";
import { Stock } from "./stock.ts";
import { StockViewProjection } from "./stock-view.ts";

export const inventory = defineContext<SchemaExtension>({
  name: "inventory",
  aggregates: [Stock, Hold],
  processors: [StockViewProjection, HoldSaga],
  schema: inventorySchema,
});
