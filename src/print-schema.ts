/**
 * `npm run schema`: prints the GraphQL schema (sorted) to schema.graphql.
 * test/graphql/schema-file.test.ts fails when the committed file is stale.
 */
import { writeFileSync } from "node:fs";
import { Registry } from "./core/registry.ts";
import { contexts } from "./domains/index.ts";
import { buildSchema, printSortedSchema } from "./graphql/schema.ts";

export const currentSchemaText = () => printSortedSchema(buildSchema(new Registry(contexts, { snapshots: true })));

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL("../schema.graphql", import.meta.url), currentSchemaText());
  console.log("schema.graphql written");
}
