/**
 * The banking bounded context: accounts and the money that moves between them.
 */
import { defineContext } from "../../core/context.ts";
import type { SchemaExtension } from "../../graphql/schema.ts";
import { Account } from "./account.ts";
import { bankingSchema } from "./graphql.ts";

export const banking = defineContext<SchemaExtension>({
  name: "banking",
  aggregates: [Account],
  processors: [],
  schema: bankingSchema,
});
