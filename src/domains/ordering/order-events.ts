/**
 * The Order aggregate's events, declared once (name → schema of its data), with their history.
 *
 * Schema history:
 * - ItemAdded v1 `{ productId, quantity, price }` (the unit price was called `price`, as in the
 *   reference) → v2 `{ productId, quantity, unitPrice }`, so it cannot be mistaken for the line's
 *   price. Logs written before v2 keep their v1 rows; every reader sees v2 through the upcaster
 *   declared here (its input typed and checked by the v1 schema).
 */
import { z } from "zod";
import { type EventOf, upcaster, versioned } from "../../core/events.ts";

const id = z.string();
const cents = z.number().int();

// Lenient on purpose: it reads rows already stored, whatever their numbers.
const itemAddedV1 = z.object({ productId: id, quantity: z.number(), price: z.number() });
const itemAddedV2 = z.object({ productId: id, quantity: z.number().int(), unitPrice: cents });

export const orderEvents = {
  OrderCreated: z.object({ customerId: id }),
  ItemAdded: versioned(itemAddedV2, {
    version: 2,
    upcasters: {
      1: upcaster(itemAddedV1, ({ productId, quantity, price }) => ({ productId, quantity, unitPrice: price })),
    },
  }),
  ItemRemoved: z.object({ productId: id }),
  OrderSubmitted: z.object({ total: cents, itemCount: z.number().int() }),
  OrderConfirmed: z.object({}),
  OrderShipped: z.object({ trackingNumber: z.string() }),
  OrderDelivered: z.object({}),
  OrderCancelled: z.object({ reason: z.string() }),
};

export type OrderEvent = EventOf<typeof orderEvents>;
