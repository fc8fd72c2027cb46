/**
 * Builds the whole GraphQL schema: the command API derived from the registry, plus each
 * bounded context's own read side. Also prints it, sorted, for `schema.graphql`.
 */
import { type GraphQLSchema, lexicographicSortSchema, printSchema } from "graphql";
import type { Registry } from "../core/registry.ts";
import { defineAdminApi } from "./admin-api.ts";
import { createBuilder, type StagelineBuilder } from "./builder.ts";
import { defineCommandApi } from "./command-api.ts";
import { defineConsoleApi } from "./console-api.ts";
import { defineHistoryApi } from "./history-api.ts";
import { guardArguments } from "./input-guard.ts";

/** What a bounded context's `schema` field must be. */
export type SchemaExtension = (builder: StagelineBuilder) => void;

export function buildSchema(registry: Registry): GraphQLSchema {
  const builder = createBuilder();
  const commandTypes = defineCommandApi(builder, registry);
  defineConsoleApi(builder, registry, commandTypes.CommandResultRef);
  defineHistoryApi(builder);
  defineAdminApi(builder);
  for (const context of registry.contexts) {
    if (typeof context.schema === "function") (context.schema as SchemaExtension)(builder);
  }
  // Every argument of every field is checked before its resolver: values the database cannot
  // store are refused with a typed error, whichever context defined the field.
  return guardArguments(builder.toSchema({ sortSchema: true }));
}

export const printSortedSchema = (schema: GraphQLSchema): string => `${printSchema(lexicographicSortSchema(schema))}\n`;
