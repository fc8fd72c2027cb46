/**
 * Reading an enum value stored as text (a read model's status column) back into its union type:
 * checked, so a value the code does not know fails loudly instead of reaching a client as a lie.
 */
export function oneOf<const T extends string>(values: readonly T[], value: string): T {
  const known = values.find((v) => v === value);
  if (known === undefined)
    throw new Error(`Unknown value ${JSON.stringify(value)}; expected one of ${values.join(", ")}`);
  return known;
}
