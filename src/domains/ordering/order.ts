/**
 * The Order aggregate: a customer's basket of lines that moves through its statuses (see
 * order-status.ts). Amounts are integers in cents. An order line is one product at one unit
 * price: the price the order was placed at, given by the caller (the catalogue may change later).
 */
import { z } from "zod";
import { defineAggregate } from "../../core/aggregate.ts";
import { DomainError } from "../../core/errors.ts";
import { type OrderEvent, orderEvents } from "./order-events.ts";
import { canMove, type OrderStatus } from "./order-status.ts";

export interface OrderLine {
  productId: string;
  quantity: number;
  unitPrice: number;
}

export interface OrderState {
  /** NONE until OrderCreated. */
  status: OrderStatus | "NONE";
  customerId: string;
  /** In the order they were first added; one line per product. */
  lines: OrderLine[];
  /** Sum of quantity × unitPrice over the lines. */
  total: number;
}

/** Limits that keep every amount a safe 32-bit integer and an order a sensible size. */
export const ORDER_LIMITS = { lines: 100, quantity: 10_000, total: 100_000_000 } as const;

const id = z.string().trim().min(1).max(200);
const item = {
  productId: id.describe("The product's ID"),
  quantity: z.number().int().min(1).max(ORDER_LIMITS.quantity).describe("How many; 1 to 10,000"),
  unitPrice: z.number().int().min(0).max(1_000_000).describe("Price of one, in cents, as ordered"),
};

export const Order = defineAggregate({
  name: "Order",
  events: orderEvents,
  commands: {
    CreateOrder: {
      roles: ["clerk"],
      mode: "create",
      description: "Opens a draft order for a customer, with its first items (optional).",
      input: z.object({
        customerId: id.describe("The customer placing the order"),
        items: z.array(z.object(item)).max(ORDER_LIMITS.lines).default([]).describe("Lines to start with"),
      }),
    },
    AddItem: {
      roles: ["clerk"],
      description:
        "Adds a product to a draft order; a product already in the order gets more quantity (at the same unit price).",
      input: z.object(item),
    },
    RemoveItem: {
      roles: ["clerk"],
      description: "Removes a product's line from a draft order.",
      input: z.object({ productId: item.productId }),
    },
    SubmitOrder: {
      roles: ["clerk"],
      description: "Submits a draft order; refused with ORDER_EMPTY when it has no line.",
      input: z.object({}),
    },
    ConfirmOrder: { roles: ["clerk"], description: "Confirms a submitted order.", input: z.object({}) },
    ShipOrder: {
      roles: ["clerk"],
      description: "Ships a confirmed order.",
      input: z.object({ trackingNumber: z.string().trim().max(100).default("").describe("Carrier's tracking number") }),
    },
    DeliverOrder: { roles: ["clerk"], description: "Marks a shipped order delivered.", input: z.object({}) },
    CancelOrder: {
      roles: ["clerk"],
      description: "Cancels an order that has not shipped yet.",
      input: z.object({ reason: z.string().trim().max(500).default("").describe("Why the order is cancelled") }),
    },
  },
  initialState: (): OrderState => ({ status: "NONE", customerId: "", lines: [], total: 0 }),

  decide(command, state): OrderEvent[] {
    switch (command.type) {
      case "CreateOrder": {
        const created: OrderEvent = { type: "OrderCreated", data: { customerId: command.data.customerId } };
        // Each item goes through the same rule as AddItem, on the state the earlier items built.
        const events: OrderEvent[] = [created];
        let draft = evolveOrder(state, created);
        for (const line of command.data.items) {
          const added = addItem(draft, line);
          events.push(added);
          draft = evolveOrder(draft, added);
        }
        return events;
      }
      case "AddItem":
        return [addItem(state, command.data)];
      case "RemoveItem":
        assertDraft(state);
        if (!state.lines.some((l) => l.productId === command.data.productId)) {
          throw new DomainError("ITEM_NOT_IN_ORDER", `Product ${command.data.productId} is not in the order`);
        }
        return [{ type: "ItemRemoved", data: { productId: command.data.productId } }];
      case "SubmitOrder":
        assertCanMove(state, "SUBMITTED", "ORDER_NOT_DRAFT", "Only a draft order can be submitted");
        if (state.lines.length === 0)
          throw new DomainError("ORDER_EMPTY", "An order without items cannot be submitted");
        return [{ type: "OrderSubmitted", data: { total: state.total, itemCount: itemCount(state) } }];
      case "ConfirmOrder":
        assertCanMove(state, "CONFIRMED", "ORDER_NOT_SUBMITTED", "Only a submitted order can be confirmed");
        return [{ type: "OrderConfirmed", data: {} }];
      case "ShipOrder":
        assertCanMove(state, "SHIPPED", "ORDER_NOT_CONFIRMED", "Only a confirmed order can be shipped");
        return [{ type: "OrderShipped", data: { trackingNumber: command.data.trackingNumber } }];
      case "DeliverOrder":
        assertCanMove(state, "DELIVERED", "ORDER_NOT_SHIPPED", "Only a shipped order can be delivered");
        return [{ type: "OrderDelivered", data: {} }];
      case "CancelOrder":
        assertCanMove(
          state,
          "CANCELLED",
          "ORDER_ALREADY_SHIPPED",
          "An order that has shipped can no longer be cancelled",
        );
        return [{ type: "OrderCancelled", data: { reason: command.data.reason } }];
    }
  },

  evolve: (state: OrderState, event: OrderEvent): OrderState => evolveOrder(state, event),
});

export function evolveOrder(state: OrderState, event: OrderEvent): OrderState {
  switch (event.type) {
    case "OrderCreated":
      return { ...state, status: "DRAFT", customerId: event.data.customerId };
    case "ItemAdded": {
      const { productId, quantity, unitPrice } = event.data;
      const exists = state.lines.some((l) => l.productId === productId);
      const lines = exists
        ? state.lines.map((l) => (l.productId === productId ? { ...l, quantity: l.quantity + quantity } : l))
        : [...state.lines, { productId, quantity, unitPrice }];
      return withLines(state, lines);
    }
    case "ItemRemoved":
      return withLines(
        state,
        state.lines.filter((l) => l.productId !== event.data.productId),
      );
    case "OrderSubmitted":
      return { ...state, status: "SUBMITTED" };
    case "OrderConfirmed":
      return { ...state, status: "CONFIRMED" };
    case "OrderShipped":
      return { ...state, status: "SHIPPED" };
    case "OrderDelivered":
      return { ...state, status: "DELIVERED" };
    case "OrderCancelled":
      return { ...state, status: "CANCELLED" };
  }
}

const withLines = (state: OrderState, lines: OrderLine[]): OrderState => ({
  ...state,
  lines,
  total: lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0),
});

export const itemCount = (state: Pick<OrderState, "lines">): number =>
  state.lines.reduce((sum, l) => sum + l.quantity, 0);

function addItem(state: OrderState, line: OrderLine): OrderEvent {
  assertDraft(state);
  const existing = state.lines.find((l) => l.productId === line.productId);
  if (existing && existing.unitPrice !== line.unitPrice) {
    throw new DomainError(
      "ITEM_PRICE_MISMATCH",
      `Product ${line.productId} is in the order at ${existing.unitPrice}, not ${line.unitPrice}: remove its line first to change the price`,
    );
  }
  if (!existing && state.lines.length >= ORDER_LIMITS.lines) {
    throw new DomainError("ORDER_LIMIT_EXCEEDED", `An order holds at most ${ORDER_LIMITS.lines} lines`);
  }
  if ((existing?.quantity ?? 0) + line.quantity > ORDER_LIMITS.quantity) {
    throw new DomainError("ORDER_LIMIT_EXCEEDED", `A line holds at most ${ORDER_LIMITS.quantity} of a product`);
  }
  if (state.total + line.quantity * line.unitPrice > ORDER_LIMITS.total) {
    throw new DomainError("ORDER_LIMIT_EXCEEDED", `An order's total is at most ${ORDER_LIMITS.total} cents`);
  }
  return { type: "ItemAdded", data: { productId: line.productId, quantity: line.quantity, unitPrice: line.unitPrice } };
}

function assertDraft(state: OrderState): void {
  assertNotCancelled(state);
  if (state.status !== "DRAFT") {
    throw new DomainError(
      "ORDER_NOT_DRAFT",
      `Items can only change while the order is a draft (it is ${state.status})`,
    );
  }
}

function assertCanMove(state: OrderState, to: OrderStatus, code: string, message: string): void {
  assertNotCancelled(state);
  if (state.status === "NONE" || !canMove(state.status, to)) {
    throw new DomainError(code, `${message} (it is ${state.status})`);
  }
}

function assertNotCancelled(state: OrderState): void {
  if (state.status === "CANCELLED") throw new DomainError("ORDER_CANCELLED", "The order is cancelled");
}
