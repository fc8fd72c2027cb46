import { describe, expect, it } from "vitest";
import { Customer } from "../../../src/domains/ordering/customer.ts";
import { Order } from "../../../src/domains/ordering/order.ts";
import type { OrderEvent } from "../../../src/domains/ordering/order-events.ts";
import { Product } from "../../../src/domains/ordering/product.ts";
import { spec } from "../../../src/testing/decider-spec.ts";

const created: OrderEvent = { type: "OrderCreated", data: { customerId: "c1" } };
const lamp: OrderEvent = {
  type: "ItemAdded",
  schemaVersion: 2,
  data: { productId: "lamp", quantity: 2, unitPrice: 1500 },
};
const submitted: OrderEvent = { type: "OrderSubmitted", data: { total: 3000, itemCount: 2 } };
const confirmed: OrderEvent = { type: "OrderConfirmed", data: {} };
const shipped: OrderEvent = { type: "OrderShipped", data: { trackingNumber: "" } };
const delivered: OrderEvent = { type: "OrderDelivered", data: {} };
const cancelled: OrderEvent = { type: "OrderCancelled", data: { reason: "" } };

describe("Order decider", () => {
  it("creates a draft with its first items; a repeated product adds to its line", () => {
    spec(Order)
      .given([])
      .when("CreateOrder", {
        customerId: "c1",
        items: [
          { productId: "lamp", quantity: 2, unitPrice: 1500 },
          { productId: "lamp", quantity: 1, unitPrice: 1500 },
        ],
      })
      .thenEvents([
        created,
        lamp,
        { type: "ItemAdded", schemaVersion: 2, data: { productId: "lamp", quantity: 1, unitPrice: 1500 } },
      ])
      .thenState({ status: "DRAFT", total: 4500, lines: [{ productId: "lamp", quantity: 3, unitPrice: 1500 }] });
  });

  it("adds and removes items while a draft; totals follow", () => {
    spec(Order)
      .given([created, lamp])
      .when("AddItem", { productId: "desk", quantity: 1, unitPrice: 20000 })
      .thenState({ total: 23000 });
    spec(Order)
      .given([created, lamp])
      .when("RemoveItem", { productId: "lamp" })
      .thenEvents([{ type: "ItemRemoved", data: { productId: "lamp" } }])
      .thenState({ total: 0, lines: [] });
    spec(Order).given([created]).when("RemoveItem", { productId: "lamp" }).thenFails("ITEM_NOT_IN_ORDER");
    spec(Order)
      .given([created, lamp])
      .when("AddItem", { productId: "lamp", quantity: 1, unitPrice: 1400 })
      .thenFails("ITEM_PRICE_MISMATCH");
  });

  it("refuses to submit an empty order", () => {
    spec(Order).given([created]).when("SubmitOrder", {}).thenFails("ORDER_EMPTY");
    spec(Order)
      .given([created, lamp, { type: "ItemRemoved", data: { productId: "lamp" } }])
      .when("SubmitOrder", {})
      .thenFails("ORDER_EMPTY");
  });

  it("walks draft → submitted → confirmed → shipped → delivered", () => {
    spec(Order)
      .given([created, lamp])
      .when("SubmitOrder", {})
      .thenEvents([submitted])
      .thenState({ status: "SUBMITTED" });
    spec(Order).given([created, lamp, submitted]).when("ConfirmOrder", {}).thenState({ status: "CONFIRMED" });
    spec(Order)
      .given([created, lamp, submitted, confirmed])
      .when("ShipOrder", { trackingNumber: "TRK-1" })
      .thenEvents([{ type: "OrderShipped", data: { trackingNumber: "TRK-1" } }]);
    spec(Order)
      .given([created, lamp, submitted, confirmed, shipped])
      .when("DeliverOrder", {})
      .thenState({ status: "DELIVERED" });
  });

  it("refuses steps out of order, with a code naming the status the step needs", () => {
    spec(Order).given([created, lamp]).when("ConfirmOrder", {}).thenFails("ORDER_NOT_SUBMITTED");
    spec(Order).given([created, lamp, submitted]).when("ShipOrder", {}).thenFails("ORDER_NOT_CONFIRMED");
    spec(Order).given([created, lamp, submitted, confirmed]).when("DeliverOrder", {}).thenFails("ORDER_NOT_SHIPPED");
    spec(Order).given([created, lamp, submitted]).when("SubmitOrder", {}).thenFails("ORDER_NOT_DRAFT");
    spec(Order)
      .given([created, lamp, submitted])
      .when("AddItem", { productId: "desk", quantity: 1, unitPrice: 1 })
      .thenFails("ORDER_NOT_DRAFT");
  });

  it("cancels only before shipping; a cancelled order refuses everything", () => {
    for (const history of [[created], [created, lamp, submitted], [created, lamp, submitted, confirmed]]) {
      spec(Order).given(history).when("CancelOrder", { reason: "x" }).thenState({ status: "CANCELLED" });
    }
    spec(Order)
      .given([created, lamp, submitted, confirmed, shipped])
      .when("CancelOrder", {})
      .thenFails("ORDER_ALREADY_SHIPPED");
    spec(Order)
      .given([created, lamp, submitted, confirmed, shipped, delivered])
      .when("CancelOrder", {})
      .thenFails("ORDER_ALREADY_SHIPPED");
    spec(Order).given([created, lamp, cancelled]).when("CancelOrder", {}).thenFails("ORDER_CANCELLED");
    spec(Order).given([created, lamp, cancelled]).when("SubmitOrder", {}).thenFails("ORDER_CANCELLED");
    spec(Order)
      .given([created, lamp, cancelled])
      .when("RemoveItem", { productId: "lamp" })
      .thenFails("ORDER_CANCELLED");
  });

  it("keeps amounts bounded", () => {
    spec(Order)
      .given([created])
      .when("AddItem", { productId: "gold", quantity: 10_000, unitPrice: 1_000_000 })
      .thenFails("ORDER_LIMIT_EXCEEDED");
  });

  it("validation refuses a zero quantity or a negative price before deciding", () => {
    expect(() => spec(Order).given([created]).when("AddItem", { productId: "a", quantity: 0, unitPrice: 1 })).toThrow();
    expect(() =>
      spec(Order).given([created]).when("AddItem", { productId: "a", quantity: 1, unitPrice: -1 }),
    ).toThrow();
  });

  it("upcasts ItemAdded v1 ({ price }) to v2 ({ unitPrice }) and leaves current events alone", () => {
    expect(
      Order.upcast!({ type: "ItemAdded", schemaVersion: 1, data: { productId: "p", quantity: 2, price: 300 } }),
    ).toEqual({
      type: "ItemAdded",
      schemaVersion: 2,
      data: { productId: "p", quantity: 2, unitPrice: 300 },
    });
    expect(Order.upcast!({ type: "ItemAdded", schemaVersion: 2, data: lamp.data })).toEqual(lamp);
    expect(Order.upcast!({ type: "OrderCreated", schemaVersion: 1, data: created.data })).toEqual({
      ...created,
      schemaVersion: 1,
    });
  });
});

describe("Customer and Product deciders", () => {
  it("register, rename (the same name is no change) and reprice", () => {
    spec(Customer)
      .given([])
      .when("RegisterCustomer", { name: " Ada Lovelace ", email: "ada@example.com" })
      .thenEvents([{ type: "CustomerRegistered", data: { name: "Ada Lovelace", email: "ada@example.com" } }]);
    const ada = { type: "CustomerRegistered" as const, data: { name: "Ada", email: "" } };
    spec(Customer).given([ada]).when("RenameCustomer", { name: "Ada" }).thenEvents([]);
    spec(Customer).given([ada]).when("RenameCustomer", { name: "Ada King" }).thenState({ name: "Ada King" });
    const lampProduct = { type: "ProductRegistered" as const, data: { name: "Lamp", price: 1500 } };
    spec(Product).given([lampProduct]).when("RepriceProduct", { price: 1700 }).thenState({ price: 1700 });
    spec(Product).given([lampProduct]).when("RepriceProduct", { price: 1500 }).thenEvents([]);
    spec(Product).given([lampProduct]).when("RenameProduct", { name: "Desk lamp" }).thenState({ name: "Desk lamp" });
  });

  it("refuses an invalid e-mail at validation", () => {
    expect(() => spec(Customer).given([]).when("RegisterCustomer", { name: "Ada", email: "not-an-email" })).toThrow();
  });
});
