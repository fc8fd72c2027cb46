import type { z } from "zod";
import type { BindingError } from "../core/errors.ts";

/** zod issues as field-level binding errors (`amount`, `items.0.sku`), codes from zod. */
export const bindingErrors = (error: z.ZodError, prefix = ""): BindingError[] =>
  error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
    code: issue.code,
    message: issue.message,
  }));
