/**
 * Builds a GraphQL input type from a command's zod schema, so a command's fields are written
 * once: the same schema shapes the input type and validates it. (Pothos' zod and validation
 * plugins only validate fields declared by hand; they do not derive the fields.)
 */
import type { z } from "zod";
import type { StagelineBuilder } from "./builder.ts";

// biome-ignore lint/suspicious/noExplicitAny: zod's internal definition is untyped across schema kinds.
type AnyDef = any;

function unwrap(schema: z.ZodType): { inner: z.ZodType; required: boolean } {
  let required = true;
  let current: AnyDef = schema;
  for (;;) {
    const def = current._zod.def;
    if (def.type === "optional" || def.type === "nullable" || def.type === "default" || def.type === "prefault") {
      required = false;
      current = def.innerType;
    } else if (def.type === "readonly" || def.type === "catch") {
      current = def.innerType;
    } else if (def.type === "pipe") {
      current = def.in;
    } else {
      return { inner: current, required };
    }
  }
}

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** True when the schema has no field: GraphQL forbids empty input types, so callers omit the argument. */
export const hasFields = (schema: z.ZodObject) => Object.keys(schema.shape).length > 0;

export function zodInputType(builder: StagelineBuilder, name: string, schema: z.ZodObject) {
  const typeFor = (s: AnyDef, path: string): AnyDef => {
    const def = s._zod.def;
    switch (def.type) {
      case "string":
        return "String";
      case "number":
        return s.isInt || s.format === "safeint" || s.format === "int32" ? "Int" : "Float";
      case "boolean":
        return "Boolean";
      case "enum":
        return builder.enumType(path, { values: Object.values(def.entries) as [string, ...string[]] });
      case "array":
        return [typeFor(unwrap(def.element).inner, path)];
      case "object":
        return zodInputType(builder, path, s);
      default:
        throw new Error(`Command input ${path}: zod type "${def.type}" has no GraphQL input mapping`);
    }
  };
  const ref = builder.inputRef<Record<string, unknown>>(name);
  ref.implement({
    description: schema.description,
    fields: (t) =>
      Object.fromEntries(
        Object.entries(schema.shape).map(([key, field]) => {
          const { inner, required } = unwrap(field as z.ZodType);
          return [
            key,
            t.field({
              type: typeFor(inner, name + upperFirst(key)),
              required,
              description: (field as z.ZodType).description,
            }),
          ];
        }),
      ) as AnyDef,
  });
  return ref;
}
