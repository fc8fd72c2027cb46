/**
 * Limits on the size and shape of a GraphQL document, from GraphQL Armor's envelop plugins.
 * They hook envelop's parse and validate, so they run for every transport that goes through
 * `yoga.getEnveloped()`: HTTP, SSE and graphql-ws alike.
 *
 * A rejected document fails at once (the plugin throws out of parse or validate), so nothing
 * costly — graphql-js's own validation rules, execution — runs on it. The error leaves with one
 * of the stable codes below and a message that names the limit.
 */
import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesPlugin } from "@escape.tech/graphql-armor-max-directives";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import type { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { GraphQLCode } from "./errors.ts";

export interface QueryLimits {
  /** Deepest selection set nesting (fragments count their own depth). */
  maxDepth: number;
  /** Largest cost: 1 per scalar field, 2 per object field, ×1.5 per level, × `first`/`last` literals. */
  maxCost: number;
  /** Most aliases in one document. */
  maxAliases: number;
  /** Most directives in one document. */
  maxDirectives: number;
  /** Most lexical tokens in one document (checked while parsing, so a huge document is never parsed whole). */
  maxTokens: number;
}

/** The stable `extensions.code` of each limit's error. */
export const LIMIT_CODES = {
  maxDepth: GraphQLCode.QUERY_TOO_DEEP,
  maxCost: GraphQLCode.QUERY_TOO_COSTLY,
  maxAliases: GraphQLCode.TOO_MANY_ALIASES,
  maxDirectives: GraphQLCode.TOO_MANY_DIRECTIVES,
  maxTokens: GraphQLCode.TOO_MANY_TOKENS,
} as const satisfies Record<keyof QueryLimits, string>;

/** The plugins enforcing `limits`, each stamping its error with its code. */
export function queryLimitPlugins(limits: QueryLimits): Plugin[] {
  const reject = (code: string) => [
    (_context: unknown, error: GraphQLError) => {
      // The plugins prefix every message with "Syntax Error: " whatever the limit; say what it is.
      error.message = error.message.replace(/^Syntax Error: /, "");
      (error.extensions as Record<string, unknown>).code = code;
    },
  ];
  return [
    maxTokensPlugin({ n: limits.maxTokens, onReject: reject(LIMIT_CODES.maxTokens) }),
    maxDepthPlugin({ n: limits.maxDepth, onReject: reject(LIMIT_CODES.maxDepth) }),
    costLimitPlugin({ maxCost: limits.maxCost, onReject: reject(LIMIT_CODES.maxCost) }),
    maxAliasesPlugin({ n: limits.maxAliases, onReject: reject(LIMIT_CODES.maxAliases) }),
    maxDirectivesPlugin({ n: limits.maxDirectives, onReject: reject(LIMIT_CODES.maxDirectives) }),
  ] as Plugin[];
}
