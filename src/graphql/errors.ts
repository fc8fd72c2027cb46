/**
 * Our typed errors as GraphQL errors with a stable `extensions.code`. Anything else is left to
 * Yoga's masking (a generic message in production), except a lost database connection, which
 * becomes UNAVAILABLE: a client may retry it.
 */
import { GraphQLError } from "graphql";
import { type MaskError, maskError } from "graphql-yoga";
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

/**
 * Yoga's error masking, except for a lost database: whatever resolver met it (a Prisma read
 * model included), the client gets UNAVAILABLE, which it may retry, rather than an internal error.
 */
export const maskErrors: MaskError = (error, message, isDev) => {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (isDatabaseUnavailable(original)) return databaseUnavailable(error instanceof GraphQLError ? error : undefined);
  return maskError(error, message, isDev);
};

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
