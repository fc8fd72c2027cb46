/**
 * The tutorial's context end to end (docs/tutorial.md), through GraphQL on both engines: a
 * create-or-update mutation sets the stock, a hold is reserved by the saga and confirmed, a
 * hold for more than is free is rejected with the stock's code, and the read model shows it.
 */
import { describe, expect, it } from "vitest";
import { Hold } from "../../../src/domains/inventory/hold.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { engines } from "../../support/databases.ts";
import { waitUntil } from "../../support/eventually.ts";

describe.each(engines)("inventory context on %s", (engine) => {
  let t: TestApp;
  const mutate = async (query: string) => {
    const { json } = await t.post({ query });
    expect(json.errors).toBeUndefined();
    return Object.values(json.data ?? {})[0] as Record<string, unknown>;
  };
  const state = async (id: string) =>
    (await t.app.aggregates.load(Hold, { tenantId: "default", aggregateName: "Hold", aggregateId: id })).state;

  it("sets stock (create, then update), confirms a hold it can serve and rejects one it cannot", async () => {
    t = await startTestApp(engine);
    try {
      const wait = "waitFor: { stage: PROCESSED }";
      expect(
        await mutate(
          `mutation { setStockLevel(input: { onHand: 3 }, command: { aggregateId: "lamp", ${wait} }) { succeeded aggregateVersion } }`,
        ),
      ).toEqual({ succeeded: true, aggregateVersion: 1 });
      expect(
        await mutate(
          `mutation { setStockLevel(input: { onHand: 5 }, command: { aggregateId: "lamp", ${wait} }) { succeeded aggregateVersion } }`,
        ),
      ).toEqual({ succeeded: true, aggregateVersion: 2 });
      // The read-your-writes arguments every query takes: here a log position, right after its write.
      const leveled = await mutate(
        `mutation { setStockLevel(input: { onHand: 5 }, command: { aggregateId: "lamp", ${wait} }) { positions } }`,
      );
      const position = (leveled.positions as string[]).at(-1);
      const { json: read } = await t.post({
        query: `{ stock(sku: "lamp", minPosition: "${position}") { onHand version } }`,
      });
      expect(read.errors).toBeUndefined();
      expect(read.data?.stock).toEqual({ onHand: 5, version: 3 });

      const chain = "waitFor: { stage: SAGA_HANDLED, chain: true }";
      const served = await mutate(
        `mutation { placeHold(input: { sku: "lamp", quantity: 4 }, command: { aggregateId: "h1", ${chain} }) { commandId succeeded } }`,
      );
      expect(served.succeeded).toBe(true);
      expect(await state("h1")).toEqual({ status: "CONFIRMED" });

      const refused = await mutate(
        `mutation { placeHold(input: { sku: "lamp", quantity: 2 }, command: { aggregateId: "h2", ${chain} }) { succeeded errorCode chainFailures { errorCode } } }`,
      );
      expect(refused).toMatchObject({
        succeeded: false,
        errorCode: "CHAIN_FAILED",
        chainFailures: [{ errorCode: "OUT_OF_STOCK" }],
      });
      expect(await state("h2")).toEqual({ status: "REJECTED" });

      // The chain wait covers the saga's commands up to SAGA_HANDLED, not their projections: poll the view.
      const stock = async () =>
        (
          await t.post({
            query: `{ stock(sku: "lamp", afterCommand: "${served.commandId}") { sku onHand reserved free } }`,
          })
        ).json.data?.stock as { reserved: number } | null | undefined;
      await waitUntil("StockView to show the reservation", async () => (await stock())?.reserved === 4, {
        timeoutMs: 10_000,
      });
      expect(await stock()).toEqual({ sku: "lamp", onHand: 5, reserved: 4, free: 1 });
    } finally {
      await t.stop();
    }
  });
});
