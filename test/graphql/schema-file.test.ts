/**
 * schema.graphql is the published contract: it must be exactly what the code builds today.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { currentSchemaText } from "../../src/print-schema.ts";

const SCHEMA_FILE = new URL("../../schema.graphql", import.meta.url);

describe("schema.graphql", () => {
  it("matches the schema the code builds (run `npm run schema` to update it)", () => {
    const committed = readFileSync(SCHEMA_FILE, "utf8");
    const current = currentSchemaText();
    expect(current).toContain("type Mutation");
    expect(committed, "schema.graphql is stale: run `npm run schema` and commit the result").toBe(current);
  });
});
