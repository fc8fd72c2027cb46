/**
 * Every error leaves with a stable code (docs/bad-input.md): Yoga's mask keeps the codes our
 * typed errors carry, and a plugin gives one to those graphql-js raises without any. One concern
 * per file, as graphql-yoga's own plugins.
 */
import { PothosValidationError } from "@pothos/core";
import { GraphQLError } from "graphql";
import { type MaskError, maskError, type Plugin } from "graphql-yoga";
import { GraphQLCode, toGraphQLError } from "../errors.ts";

/**
 * Every error leaves with a code: those graphql-js raises without one are bad input (e.g. a
 * variable of the wrong type), except errors inside resolvers, which are internal.
 */
export function useStableErrorCodes(): Plugin {
  return {
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) giveCodes(single);
    },
  };
}

/** The same for one result; graphql-ws results do not pass through Yoga's result processing. */
export function giveCodes(result: unknown): void {
  for (const error of (result as { errors?: readonly GraphQLError[] } | undefined)?.errors ?? []) {
    const extensions = error.extensions as Record<string, unknown>;
    if (extensions && !extensions.code) extensions.code = codeOf(error);
  }
}

/**
 * Yoga masks every error that is not a GraphQLError. Ours carry a stable code wherever they are
 * thrown (a resolver, a read-your-writes wait, a context), so they leave with it instead of as
 * INTERNAL_SERVER_ERROR; anything else is masked as usual.
 */
export const keepTypedErrors: MaskError = (error, message, isDev) => {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  const typed = toGraphQLError(original);
  if (typed === original) return maskError(error, message, isDev);
  const { message: text, extensions } = typed as GraphQLError;
  return error instanceof GraphQLError
    ? new GraphQLError(text, { nodes: error.nodes, path: error.path, originalError: original as Error, extensions })
    : (typed as GraphQLError);
};

/** Pothos refuses bad connection arguments (a cursor it cannot decode, a negative `first`) inside the resolver. */
const codeOf = (error: GraphQLError) =>
  !error.path || error.originalError instanceof PothosValidationError
    ? GraphQLCode.BAD_USER_INPUT
    : GraphQLCode.INTERNAL_SERVER_ERROR;

export function asGraphQLError(error: unknown, code: string): GraphQLError {
  const e = error instanceof GraphQLError ? error : new GraphQLError(String(error));
  (e.extensions as Record<string, unknown>).code ??= code;
  return e;
}
