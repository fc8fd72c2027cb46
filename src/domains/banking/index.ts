/**
 * The banking bounded context: accounts and the money that moves between them.
 */
import { defineContext } from "../../core/context.ts";
import type { SchemaExtension } from "../../graphql/schema.ts";
import { Account } from "./account.ts";
import { bankingSchema } from "./graphql/index.ts";
import { AccountViewProjection, TransferViewProjection } from "./projections.ts";
import { TransferSaga } from "./transfer-saga.ts";

export const banking = defineContext<SchemaExtension>({
  name: "banking",
  aggregates: [Account],
  processors: [AccountViewProjection, TransferViewProjection, TransferSaga],
  schema: bankingSchema,
});
