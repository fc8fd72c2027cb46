/**
 * Our typed errors as GraphQL errors with a stable `extensions.code`. Anything else is left to
 * Yoga's masking (a generic message in production), except a lost database connection, which
 * becomes UNAVAILABLE: a client may retry it.
 */
import { GraphQLError } from "graphql";
import { StagelineError, ValidationFailed } from "../core/errors.ts";
import { isDatabaseUnavailable } from "../store/unavailable.ts";

export function toGraphQLError(error: unknown): unknown {
  if (error instanceof GraphQLError) return error;
  if (error instanceof ValidationFailed) {
    return new GraphQLError(error.message, {
      extensions: { code: error.code, bindingErrors: error.bindingErrors },
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
    extensions: { code: "UNAVAILABLE" },
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
