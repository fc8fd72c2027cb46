/**
 * rowKey must be injective for a fixed number of parts: two different tuples of IDs never share
 * a key, whatever ':' and '\' they hold. Pure; the database side of the same escaping (the
 * migration's SQL) is checked against it in test/store/read-model-keys-migration.test.ts.
 *
 * Catches: joining the parts with ':' unescaped (the old keys) — the first case below collides.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRowKey, rowKey } from "../../src/core/row-key.ts";

describe("rowKey", () => {
  it("tells a product x:y on order o from a product y on order o:x", () => {
    expect(rowKey("t", "o", "x:y")).not.toBe(rowKey("t", "o:x", "y"));
    expect(rowKey("t", "a\\", ":b")).not.toBe(rowKey("t", "a\\:", "b"));
  });

  it("keeps IDs without ':' or '\\' as they were (stored keys stay valid)", () => {
    expect(rowKey("default", "acc")).toBe("default:acc");
    expect(rowKey("t1", "o-1", "p-1")).toBe("t1:o-1:p-1");
    // The last part is never escaped.
    expect(rowKey("t1", "a:b")).toBe("t1:a:b");
  });

  it("is injective: parseRowKey gives the parts back, for any strings", () => {
    const alphabet = fc.constantFrom(":", "\\", "a", "b", "é");
    const part = fc.string({ unit: alphabet, maxLength: 6 });
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
        const [first, ...rest] = parts as [string, ...string[]];
        expect(parseRowKey(rowKey(first, ...rest), parts.length)).toEqual(parts);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.tuple(part, part, part), fc.tuple(part, part, part), (a, b) => {
        if (rowKey(...a) === rowKey(...b)) expect(a).toEqual(b);
      }),
      { numRuns: 2000 },
    );
  });
});
