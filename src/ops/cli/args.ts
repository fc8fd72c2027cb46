import { UsageError } from "../errors.ts";

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/** `valued`: flags that take the next word as their value (e.g. `--out file`). */
export function parseArgs(argv: readonly string[], known: { valued?: string[]; boolean?: string[] } = {}): ParsedArgs {
  const valued = new Set(known.valued ?? []);
  const booleans = new Set(known.boolean ?? []);
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith("--") || word === "-") {
      positional.push(word);
      continue;
    }
    const [name, inline] = word.slice(2).split("=", 2) as [string, string | undefined];
    if (valued.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else if (booleans.has(name) && inline === undefined) {
      flags.set(name, true);
    } else {
      throw new UsageError(`Unknown option --${name}`);
    }
  }
  return { positional, flags };
}

/** A log position given on the command line. */
export function parsePosition(text: string | undefined, what = "position"): bigint {
  if (!text || !/^\d{1,19}$/.test(text))
    throw new UsageError(`${what} must be a whole number, got ${text ?? "nothing"}`);
  return BigInt(text);
}
