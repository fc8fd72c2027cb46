/**
 * Our typed errors as GraphQL errors with a stable `extensions.code`. Anything else is left to
 * Yoga's masking (a generic message in production), except a lost database connection, which
 * becomes UNAVAILABLE: a client may retry it.
 */
import { GraphQLError } from "graphql";
import { StagelineError, ValidationFailed } from "../core/errors.ts";

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "57P01",
  "57P03",
  "08006",
  "08001",
  "08003",
]);

export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; message?: string; cause?: unknown };
  if (!e) return false;
  if (e.code && CONNECTION_CODES.has(e.code)) return true;
  if (
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      e.message ?? "",
    )
  ) {
    return true;
  }
  return e.cause !== undefined && e.cause !== error && isConnectionError(e.cause);
}

export function toGraphQLError(error: unknown): unknown {
  if (error instanceof GraphQLError) return error;
  if (error instanceof ValidationFailed) {
    return new GraphQLError(error.message, {
      extensions: { code: error.code, bindingErrors: error.bindingErrors },
    });
  }
  if (error instanceof StagelineError) return new GraphQLError(error.message, { extensions: { code: error.code } });
  if (isConnectionError(error)) {
    return new GraphQLError("The database is unavailable right now; retry shortly", {
      extensions: { code: "UNAVAILABLE" },
    });
  }
  return error;
}

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
