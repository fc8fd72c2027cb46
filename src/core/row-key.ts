/**
 * Row keys made of several IDs (tenant + account, tenant + order + product, …), as one text
 * column so that it can be a primary key. Joining the raw IDs with ':' was ambiguous — a line of
 * product `x:y` on order `o` and a line of product `y` on order `o:x` got the same key — so every
 * part but the last is escaped ('\' → '\\', ':' → '\:'): for a fixed number of parts the key is
 * injective (the first unescaped ':' ends the first part, and so on; the rest is the last part).
 *
 * IDs without ':' or '\' keep the old, readable form (`default:acc`). The same escaping in SQL,
 * for migrations: replace(replace(part, '\', '\\'), ':', '\:').
 */

const escapePart = (part: string): string => part.replaceAll("\\", "\\\\").replaceAll(":", "\\:");

export function rowKey(first: string, ...rest: string[]): string {
  const parts = [first, ...rest];
  const last = parts.pop() as string;
  return [...parts.map(escapePart), last].join(":");
}

/** The parts of a key made by `rowKey` with `count` parts (the inverse; for tests and tools). */
export function parseRowKey(key: string, count: number): string[] {
  const parts: string[] = [];
  let current = "";
  let i = 0;
  while (parts.length < count - 1) {
    if (i >= key.length) throw new Error(`Not a ${count}-part row key: ${JSON.stringify(key)}`);
    const char = key[i] as string;
    if (char === "\\") {
      const next = key[i + 1];
      if (next !== "\\" && next !== ":") throw new Error(`Not a ${count}-part row key: ${JSON.stringify(key)}`);
      current += next;
      i += 2;
    } else if (char === ":") {
      parts.push(current);
      current = "";
      i += 1;
    } else {
      current += char;
      i += 1;
    }
  }
  parts.push(key.slice(i));
  return parts;
}
