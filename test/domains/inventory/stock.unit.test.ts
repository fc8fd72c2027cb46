/**
 * The tutorial's deciders (docs/tutorial.md, step 2): given past events, when a command, then
 * these events or this refusal — no database.
 */
import { describe, expect, it } from "vitest";
import { Hold } from "../../../src/domains/inventory/hold.ts";
import { Stock, type StockEvent } from "../../../src/domains/inventory/stock.ts";
import { spec } from "../../../src/testing/decider-spec.ts";

const stocked: StockEvent = { type: "StockLevelSet", data: { onHand: 5 } };

describe("Stock", () => {
  it("setting the level creates the stock, and setting it again changes it", () => {
    const created = spec(Stock).given([]).when("SetStockLevel", { onHand: 5 }).events;
    expect(created).toEqual([stocked]);
    spec(Stock)
      .given(created)
      .when("SetStockLevel", { onHand: 8 })
      .thenEvents([{ type: "StockLevelSet", data: { onHand: 8 } }])
      .thenState({ onHand: 8, reserved: 0 });
  });

  it("reserves free units, and refuses more than are free", () => {
    spec(Stock)
      .given([stocked])
      .when("ReserveStock", { holdId: "h1", quantity: 3 })
      .thenState({ onHand: 5, reserved: 3 });
    spec(Stock)
      .given([stocked, { type: "StockReserved", data: { holdId: "h1", quantity: 3 } }])
      .when("ReserveStock", { holdId: "h2", quantity: 3 })
      .thenFails("OUT_OF_STOCK");
  });

  it("never sets on hand below what is reserved", () => {
    spec(Stock)
      .given([stocked, { type: "StockReserved", data: { holdId: "h1", quantity: 4 } }])
      .when("SetStockLevel", { onHand: 3 })
      .thenFails("BELOW_RESERVED");
  });
});

describe("Hold", () => {
  it("is placed pending, then confirmed or rejected once", () => {
    const placed = spec(Hold).given([]).when("PlaceHold", { sku: "lamp", quantity: 2 }).events;
    spec(Hold).given(placed).when("ConfirmHold", {}).thenState({ status: "CONFIRMED" });
    spec(Hold)
      .given(placed)
      .when("RejectHold", { reason: "OUT_OF_STOCK" })
      .thenEvents([{ type: "HoldRejected", data: { reason: "OUT_OF_STOCK" } }]);
    spec(Hold)
      .given([...placed, { type: "HoldConfirmed", data: {} }])
      .when("RejectHold", { reason: "late" })
      .thenFails("HOLD_NOT_PENDING");
  });
});
