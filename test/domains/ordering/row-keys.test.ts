/**
 * IDs holding ':' must not make two read-model rows share a key, on both engines. The issue's
 * case: a line of product `x:y` on order `o` and a line of product `y` on order `o:x` were one
 * row (`tenant:o:x:y`), so order `o` showed the other order's quantity and a subtotal against a
 * total that disagreed.
 *
 * Catches: joining the IDs with ':' unescaped in rowKey (src/core/row-key.ts) — checked: the
 * second order's line then updates the first order's line and every assertion below fails.
 */
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../support/app.ts";
import { engines } from "../../support/databases.ts";
import { accepted, createOrder, query } from "./graphql-client.ts";

const runner = { batchSize: 100, pollMs: 20, maxAttempts: 2, onPoison: "dead-letter" as const };

interface Order {
  id: string;
  itemCount: number;
  lineCount: number;
  total: number;
  lines: { productId: string; quantity: number; unitPrice: number; subtotal: number }[];
}

const ORDERS = `query($a: ID!, $b: ID!) {
  a: order(id: $a) { id itemCount lineCount total lines { productId quantity unitPrice subtotal } }
  b: order(id: $b) { id itemCount lineCount total lines { productId quantity unitPrice subtotal } }
}`;

describe.each(engines)("read-model keys of IDs holding ':' on %s", (engine) => {
  const t = useTestApp(engine, { runner });

  it("a line of product x:y on order o and a line of product y on order o:x stay two lines", async () => {
    await accepted(t, "registerCustomer", { name: "Ada" }, "ada");
    await accepted(t, "registerProduct", { name: "Lamp", price: 100 }, "x:y");
    await accepted(t, "registerProduct", { name: "Clip", price: 7 }, "y");
    await createOrder(t, "o", "ada", [{ productId: "x:y", quantity: 1, unitPrice: 100 }]);
    await createOrder(t, "o:x", "ada", [{ productId: "y", quantity: 5, unitPrice: 7 }]);

    const both = await query<{ a: Order; b: Order }>(t, ORDERS, { a: "o", b: "o:x" });
    expect(both.a).toEqual({
      id: "o",
      itemCount: 1,
      lineCount: 1,
      total: 100,
      lines: [{ productId: "x:y", quantity: 1, unitPrice: 100, subtotal: 100 }],
    });
    expect(both.b).toEqual({
      id: "o:x",
      itemCount: 5,
      lineCount: 1,
      total: 35,
      lines: [{ productId: "y", quantity: 5, unitPrice: 7, subtotal: 35 }],
    });

    // Removing one order's line leaves the other order's alone.
    await accepted(t, "removeItem", { productId: "y" }, "o:x");
    const after = await query<{ a: Order; b: Order }>(t, ORDERS, { a: "o", b: "o:x" });
    expect(after.a.lines).toEqual([{ productId: "x:y", quantity: 1, unitPrice: 100, subtotal: 100 }]);
    expect(after.b).toMatchObject({ itemCount: 0, lineCount: 0, total: 0, lines: [] });
    expect(await t.db.prisma.deadLetter.count()).toBe(0);
  });
});
