/**
 * The GraphQL limits come from the environment (GRAPHQL_MAX_*), with the defaults
 * `.env.example` documents, and a nonsensical value stops start-up with CONFIG_INVALID.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";

describe("configuration of the GraphQL limits", () => {
  it("defaults", () => {
    expect(loadConfig({}).queryLimits).toEqual({
      maxDepth: 10,
      maxCost: 5_000,
      maxAliases: 15,
      maxDirectives: 10,
      maxTokens: 2_000,
    });
    expect(loadConfig({}).maxBodyBytes).toBe(1_048_576);
  });

  it("reads each from the environment", () => {
    const config = loadConfig({
      GRAPHQL_MAX_DEPTH: "4",
      GRAPHQL_MAX_COST: "100",
      GRAPHQL_MAX_ALIASES: "0",
      GRAPHQL_MAX_DIRECTIVES: "2",
      GRAPHQL_MAX_TOKENS: "300",
    });
    expect(config.queryLimits).toEqual({ maxDepth: 4, maxCost: 100, maxAliases: 0, maxDirectives: 2, maxTokens: 300 });
  });

  it("refuses a limit that would refuse every query", () => {
    expect(() => loadConfig({ GRAPHQL_MAX_DEPTH: "0" })).toThrow(/GRAPHQL_MAX_DEPTH/);
    expect(() => loadConfig({ GRAPHQL_MAX_TOKENS: "many" })).toThrow(/GRAPHQL_MAX_TOKENS/);
  });
});
