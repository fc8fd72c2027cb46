/**
 * Schema evolution: a log that still holds ItemAdded v1 rows ({ price }) replays into the same
 * aggregate state and the same read models as one written in v2 ({ unitPrice }), on both engines.
 */
import { describe, expect, it } from "vitest";
import { newId } from "../../../src/core/ids.ts";
import { Order } from "../../../src/domains/ordering/order.ts";
import { FAST_RUNNER, useTestApp } from "../../support/app.ts";
import { engines } from "../../support/databases.ts";

const tenantId = "default";

describe.each(engines)("ordering upcasting on %s", (engine) => {
  const t = useTestApp(engine, { runner: FAST_RUNNER });

  const send = async (aggregateName: string, type: string, aggregateId: string, input: unknown) => {
    const result = await t.app.gateway.sendAndWait(
      { aggregateName, type, input, tenantId, aggregateId },
      { stage: "PROJECTED" },
    );
    expect(result, `${type} refused`).toMatchObject({ succeeded: true });
  };

  /** Appends events raw, as an older release wrote them, and waits until the projections have them. */
  const appendRaw = async (aggregateId: string, events: Parameters<typeof t.app.events.append>[2]) => {
    const commandId = newId();
    const appended = await t.app.events.append({ tenantId, aggregateName: "Order", aggregateId }, 0, events, {
      commandId,
      requestId: commandId,
      correlationId: commandId,
      causationId: commandId,
    });
    expect(await t.app.runners.waitForProjections(appended.at(-1)!.position, 20_000)).toBe(true);
  };

  it("v1 and v2 histories of the same order give the same state and the same read models", async () => {
    await send("Customer", "RegisterCustomer", "cu", { name: "Ada Lovelace" });
    await send("Product", "RegisterProduct", "lamp", { name: "Brass Lamp", price: 700 });
    await send("Product", "RegisterProduct", "desk", { name: "Oak Desk", price: 9000 });

    // Written today: v2 events through the gateway.
    await send("Order", "CreateOrder", "order-v2", {
      customerId: "cu",
      items: [
        { productId: "lamp", quantity: 2, unitPrice: 700 },
        { productId: "desk", quantity: 1, unitPrice: 9000 },
      ],
    });
    await send("Order", "SubmitOrder", "order-v2", {});

    // Written by an older release: the same history, ItemAdded in its v1 shape, appended raw.
    await appendRaw("order-v1", [
      { type: "OrderCreated", data: { customerId: "cu" } },
      { type: "ItemAdded", schemaVersion: 1, data: { productId: "lamp", quantity: 2, price: 700 } },
      { type: "ItemAdded", schemaVersion: 1, data: { productId: "desk", quantity: 1, price: 9000 } },
      { type: "OrderSubmitted", data: { total: 10400, itemCount: 3 } },
    ]);
    const stored = await t.db.sql.query<{ schema_version: number; body: Record<string, unknown> }>(
      "SELECT schema_version, body FROM events WHERE aggregate_id = 'order-v1' AND type = 'ItemAdded' ORDER BY version",
    );
    expect(stored.map((r) => r.schema_version)).toEqual([1, 1]);
    expect(stored[0]!.body).toEqual({ productId: "lamp", quantity: 2, price: 700 });
    expect(await t.db.prisma.deadLetter.count()).toBe(0);

    // Aggregate state (load = snapshot + events, upcast) is the same.
    const load = (aggregateId: string) =>
      t.app.aggregates.load(Order, { tenantId, aggregateName: "Order", aggregateId });
    const [v1, v2] = [await load("order-v1"), await load("order-v2")];
    expect(v1).toEqual(v2);
    expect(v1.state).toMatchObject({ status: "SUBMITTED", total: 10400 });

    // Read models are the same, apart from the order's own identity and timestamps.
    const view = async (id: string) => {
      const order = await t.db.prisma.orderSummary.findUniqueOrThrow({
        where: { key: `${tenantId}:${id}` },
        include: { lines: { orderBy: { lineNo: "asc" } } },
      });
      const { key, id: _id, createdPosition, createdAt, updatedAt, submittedAt, lines, ...rest } = order;
      return { ...rest, lines: lines.map(({ key: _k, orderKey: _o, ...line }) => line) };
    };
    expect(await view("order-v1")).toEqual(await view("order-v2"));
    expect((await view("order-v1")).lines).toEqual([
      {
        tenantId,
        productId: "lamp",
        productName: "Brass Lamp",
        quantity: 2,
        unitPrice: 700,
        subtotal: 1400,
        lineNo: 1,
      },
      { tenantId, productId: "desk", productName: "Oak Desk", quantity: 1, unitPrice: 9000, subtotal: 9000, lineNo: 2 },
    ]);
    const stats = await t.db.prisma.customerOrderStats.findUniqueOrThrow({ where: { key: `${tenantId}:cu` } });
    expect(stats).toMatchObject({ ordersPlaced: 2, ordersSubmitted: 2, totalSpent: 20800n });
  });

  it("a command decided on a v1 history sees the upcast unit prices", async () => {
    await appendRaw("order-v1-draft", [
      { type: "OrderCreated", data: { customerId: "cu" } },
      { type: "ItemAdded", schemaVersion: 1, data: { productId: "lamp", quantity: 1, price: 700 } },
    ]);
    // Same product at the same unit price merges into the line; with `price` lost it would be refused.
    await send("Order", "AddItem", "order-v1-draft", { productId: "lamp", quantity: 2, unitPrice: 700 });
    const line = await t.db.prisma.orderLine.findUniqueOrThrow({ where: { key: `${tenantId}:order-v1-draft:lamp` } });
    expect(line).toMatchObject({ quantity: 3, unitPrice: 700, subtotal: 2100 });
  });
});
