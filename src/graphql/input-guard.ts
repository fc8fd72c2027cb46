/**
 * One gate for every argument of every field: before a resolver runs, its (already coerced)
 * arguments are walked along their GraphQL types and refused when they hold what the database
 * cannot store — a NUL or a lone surrogate in any string (IDs, names, search text, cursors,
 * JSON), a BigInt outside 64 bits, a DateTime outside years 1–9999. Applied to the built schema,
 * so a bounded context's new fields are covered without doing anything.
 *
 * Mutations answer VALIDATION_FAILED with a binding error per field (their arguments are command
 * input); queries and subscriptions answer BAD_USER_INPUT, as graphql-js does for an argument
 * that does not coerce. Either way the resolver never runs, so nothing is stored.
 */
import {
  defaultFieldResolver,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLFieldResolver,
  GraphQLInputObjectType,
  type GraphQLInputType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  type GraphQLSchema,
} from "graphql";
import { type BindingError, ValidationFailed } from "../core/errors.ts";
import { outOfInt8Range, outOfTimeRange, unstorableText } from "../core/text.ts";
import { BadArgument } from "./errors.ts";

/** Wraps every field that takes arguments so its arguments are checked first. Returns the schema. */
export function guardArguments(schema: GraphQLSchema): GraphQLSchema {
  const mutation = schema.getMutationType();
  const subscription = schema.getSubscriptionType();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.args.length === 0) continue;
      const refuse = type === mutation ? refuseAsValidation : refuseAsBadArgument;
      if (type === subscription && field.subscribe) field.subscribe = guarded(field, field.subscribe, refuse);
      else field.resolve = guarded(field, field.resolve ?? defaultFieldResolver, refuse);
    }
  }
  return schema;
}

type Refuse = (problems: BindingError[]) => never;

const refuseAsValidation: Refuse = (problems) => {
  throw new ValidationFailed(problems);
};

const refuseAsBadArgument: Refuse = (problems) => {
  throw new BadArgument(problems.map((p) => `Argument ${p.field} ${p.message}`).join("; "));
};

function guarded(
  field: GraphQLField<unknown, unknown>,
  resolve: GraphQLFieldResolver<unknown, unknown>,
  refuse: Refuse,
): GraphQLFieldResolver<unknown, unknown> {
  return (source, args, context, info) => {
    const problems = argumentProblems(field.args, args);
    if (problems.length > 0) refuse(problems);
    return resolve(source, args, context, info);
  };
}

/** Every argument value that cannot be stored, with its dotted path (`input.items.0.productId`). */
export function argumentProblems(
  definitions: readonly GraphQLArgument[],
  args: Record<string, unknown>,
): BindingError[] {
  const problems: BindingError[] = [];
  for (const arg of definitions) check(args[arg.name], arg.type, arg.name, problems);
  return problems;
}

function check(value: unknown, type: GraphQLInputType, path: string, problems: BindingError[]): void {
  if (value === null || value === undefined) return;
  if (type instanceof GraphQLNonNull) {
    check(value, type.ofType, path, problems);
  } else if (type instanceof GraphQLList) {
    const items = Array.isArray(value) ? value : [value];
    for (const [i, item] of items.entries()) check(item, type.ofType, `${path}.${i}`, problems);
  } else if (type instanceof GraphQLInputObjectType) {
    const fields = type.getFields();
    for (const [name, fieldValue] of Object.entries(value as Record<string, unknown>)) {
      const fieldType = fields[name]?.type;
      if (fieldType) check(fieldValue, fieldType, `${path}.${name}`, problems);
    }
  } else if (type instanceof GraphQLScalarType) {
    checkScalar(value, path, problems);
  }
  // Enums are names from the schema: nothing to check.
}

/** By value, not by scalar name: a context's own scalar gets the same checks as ours. */
function checkScalar(value: unknown, path: string, problems: BindingError[]): void {
  const problem = (code: string, message: string) => problems.push({ field: path, code, message });
  if (typeof value === "string") {
    const reason = unstorableText(value);
    if (reason) problem("invalid_format", reason);
  } else if (typeof value === "bigint") {
    const reason = outOfInt8Range(value);
    if (reason) problem("out_of_range", reason);
  } else if (value instanceof Date) {
    const reason = outOfTimeRange(value);
    if (reason) problem("out_of_range", reason);
  } else if (typeof value === "object") {
    // JSON: every key and every string inside.
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      const keyReason = unstorableText(key);
      if (keyReason) problem("invalid_format", `key ${keyReason}`);
      checkScalar(inner, `${path}.${key}`, problems);
    }
  }
}
