/**
 * The Order aggregate's events, and the upcaster that lifts older shapes to the current ones.
 *
 * Schema history:
 * - ItemAdded v1 `{ productId, quantity, price }` (the unit price was called `price`, as in the
 *   reference) → v2 `{ productId, quantity, unitPrice }`, so it cannot be mistaken for the line's
 *   price. Logs written before v2 keep their v1 rows; every reader sees v2 through `upcastOrderEvent`.
 */
import type { StoredEventShape } from "../../core/aggregate.ts";
import type { DomainEvent } from "../../core/messages.ts";

export interface ItemAddedV1 {
  productId: string;
  quantity: number;
  price: number;
}

export interface ItemAddedV2 {
  productId: string;
  quantity: number;
  unitPrice: number;
}

export const ITEM_ADDED_VERSION = 2;

export type OrderEvent =
  | DomainEvent<"OrderCreated", { customerId: string }>
  | DomainEvent<"ItemAdded", ItemAddedV2>
  | DomainEvent<"ItemRemoved", { productId: string }>
  | DomainEvent<"OrderSubmitted", { total: number; itemCount: number }>
  | DomainEvent<"OrderConfirmed", Record<string, never>>
  | DomainEvent<"OrderShipped", { trackingNumber: string }>
  | DomainEvent<"OrderDelivered", Record<string, never>>
  | DomainEvent<"OrderCancelled", { reason: string }>;

export const ORDER_EVENT_TYPES = [
  "OrderCreated",
  "ItemAdded",
  "ItemRemoved",
  "OrderSubmitted",
  "OrderConfirmed",
  "OrderShipped",
  "OrderDelivered",
  "OrderCancelled",
] as const satisfies readonly OrderEvent["type"][];

export const itemAdded = (data: ItemAddedV2): OrderEvent => ({
  type: "ItemAdded",
  schemaVersion: ITEM_ADDED_VERSION,
  data,
});

/** Lifts a stored order event to its current shape; current shapes pass through unchanged. */
export function upcastOrderEvent(event: StoredEventShape): OrderEvent {
  if (event.type === "ItemAdded" && event.schemaVersion < 2) {
    const { productId, quantity, price } = event.data as ItemAddedV1;
    return itemAdded({ productId, quantity, unitPrice: price });
  }
  return { type: event.type, data: event.data, schemaVersion: event.schemaVersion } as OrderEvent;
}
