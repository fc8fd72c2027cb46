/**
 * A projection rebuild sees events in their current shape, like the live runner: v1 ItemAdded
 * rows ({ price }) reach the rebuilt projection upcast ({ unitPrice }), both those the shadow
 * runner replays and those applied in the swap transaction, on both engines.
 *
 * Catches the rebuild's own batch loop without the upcaster step (the swap transaction applying
 * the events between the shadow and the live checkpoint as stored): the order appended right
 * before the swap then reaches the projection without `unitPrice` and the rebuild fails.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineContext } from "../../src/core/context.ts";
import { newId } from "../../src/core/ids.ts";
import { defineProjection } from "../../src/core/processors.ts";
import { ordering } from "../../src/domains/ordering/index.ts";
import type { Prisma } from "../../src/generated/prisma/client.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

const tenantId = "default";

/** One row per added item, its unit price as balance. Borrows account_views: banking is not loaded here. */
const LinePrices = defineProjection<Prisma.TransactionClient>({
  name: "LinePrices",
  eventTypes: ["ItemAdded"],
  tables: ["account_views"],
  async apply(events, tx) {
    for (const event of events) {
      const data = event.data as { productId: string; unitPrice: number };
      const key = `${event.aggregateId}/${event.version}`;
      const row = { tenantId, id: key, name: data.productId, balance: data.unitPrice, status: "ACTIVE" };
      await tx.accountView.upsert({
        where: { key },
        create: { key, ...row, version: event.version, updatedAt: event.createdAt },
        update: row,
      });
    }
  },
});

describe.each(engines)("rebuilding a projection over upcast events on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine, { runner: { batchSize: 5, pollMs: 20, maxAttempts: 2, onPoison: "dead-letter" } }, [
      ordering,
      defineContext({ name: "upcasting", aggregates: [], processors: [LinePrices] }),
    ]);
    for (const [aggregateName, type, aggregateId, input] of [
      ["Customer", "RegisterCustomer", "cu", { name: "Ada Lovelace" }],
      ["Product", "RegisterProduct", "lamp", { name: "Brass Lamp", price: 700 }],
      ["Product", "RegisterProduct", "desk", { name: "Oak Desk", price: 9000 }],
    ] as const) {
      const r = await t.app.gateway.sendAndWait({ aggregateName, type, input, tenantId, aggregateId });
      expect(r.succeeded).toBe(true);
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** An order as an older release wrote it: ItemAdded in its v1 shape, appended raw. */
  async function appendV1Order(aggregateId: string): Promise<void> {
    const commandId = newId();
    const appended = await t.app.events.append(
      { tenantId, aggregateName: "Order", aggregateId },
      0,
      [
        { type: "OrderCreated", data: { customerId: "cu" } },
        { type: "ItemAdded", schemaVersion: 1, data: { productId: "lamp", quantity: 2, price: 700 } },
        { type: "ItemAdded", schemaVersion: 1, data: { productId: "desk", quantity: 1, price: 9000 } },
      ],
      { commandId, requestId: commandId, correlationId: commandId, causationId: commandId },
    );
    expect(await t.app.runners.waitForProjections(appended.at(-1)!.position, 20_000)).toBe(true);
  }

  const prices = async () =>
    (await t.db.prisma.accountView.findMany({ orderBy: { key: "asc" } })).map((r) => [r.key, r.balance]);

  it("replays and swaps in v1 events upcast, the same rows as the live runner wrote", async () => {
    await appendV1Order("replayed");
    const job = await t.app.rebuilds.start("LinePrices", {
      // Between the shadow's catch-up and the swap: these events are applied by the swap transaction.
      beforeSwap: () => appendV1Order("swapped"),
    });
    const final = await job.done;
    expect(final).toMatchObject({ state: "DONE", errorCode: null });
    expect(await prices()).toEqual([
      ["replayed/2", 700],
      ["replayed/3", 9000],
      ["swapped/2", 700],
      ["swapped/3", 9000],
    ]);
    expect(await t.db.prisma.deadLetter.count()).toBe(0);
  });
});
