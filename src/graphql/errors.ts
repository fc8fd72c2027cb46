/**
 * The GraphQL layer's error catalogue, and the mapping of every layer's typed errors to GraphQL
 * errors with a stable `extensions.code`. The codes here are those of the transport (a request
 * or a document refused before any resolver runs, set here or by Yoga and graphql-js, named so
 * that docs/bad-input.md can be checked against them). Anything else is left to Yoga's masking
 * (a generic message in production), except a lost database connection, which becomes
 * UNAVAILABLE: a client may retry it. OVERLOADED carries its retry hint (`retryAfterMs`).
 */
import { GraphQLError } from "graphql";
import { CoreCode, codes, Overloaded, StagelineError, ValidationFailed, withCode } from "../core/errors.ts";
import { isDatabaseUnavailable } from "../store/unavailable.ts";

export const GraphQLCode = codes(
  // Set by Yoga and graphql-js
  "BAD_REQUEST",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "OPERATION_RESOLUTION_FAILURE",
  "INTERNAL_SERVER_ERROR",
  // Set here
  "BAD_USER_INPUT",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "SHUTTING_DOWN",
  "TOO_MANY_OPERATIONS",
  "QUERY_TOO_DEEP",
  "QUERY_TOO_COSTLY",
  "TOO_MANY_ALIASES",
  "TOO_MANY_DIRECTIVES",
  "TOO_MANY_TOKENS",
);
export type GraphQLCode = keyof typeof GraphQLCode;

/** A query or subscription argument the schema's types let through but the engine cannot take. */
export class BadArgument extends withCode(GraphQLCode.BAD_USER_INPUT) {}

export function toGraphQLError(error: unknown): unknown {
  if (error instanceof GraphQLError) return error;
  if (error instanceof ValidationFailed) {
    return new GraphQLError(error.message, {
      extensions: { code: error.code, bindingErrors: error.bindingErrors },
    });
  }
  if (error instanceof Overloaded) {
    return new GraphQLError(error.message, {
      extensions: { code: error.code, reason: error.reason, retryAfterMs: error.retryAfterMs },
    });
  }
  if (error instanceof StagelineError) return new GraphQLError(error.message, { extensions: { code: error.code } });
  if (isDatabaseUnavailable(error)) return databaseUnavailable();
  return error;
}

export const databaseUnavailable = (at?: GraphQLError): GraphQLError =>
  new GraphQLError("The database is unavailable right now; retry shortly", {
    nodes: at?.nodes,
    path: at?.path,
    extensions: { code: CoreCode.UNAVAILABLE },
  });

/** Wraps a resolver so its typed errors reach the client with their codes. */
export const withErrorCodes =
  <A extends unknown[], R>(resolve: (...args: A) => Promise<R>) =>
  async (...args: A): Promise<R> => {
    try {
      return await resolve(...args);
    } catch (error) {
      throw toGraphQLError(error);
    }
  };
