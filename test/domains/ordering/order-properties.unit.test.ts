/**
 * Properties of the Order decider over random command sequences: the status only ever moves
 * along an allowed edge, amounts never go negative and always equal the lines, and folding the
 * produced events from scratch gives the same state the decider worked on.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { asEvents, replay } from "../../../src/core/aggregate.ts";
import { DomainError } from "../../../src/core/errors.ts";
import { evolveOrder, Order, type OrderState } from "../../../src/domains/ordering/order.ts";
import type { OrderEvent } from "../../../src/domains/ordering/order-events.ts";

// The allowed edges, written out here independently of the code's own table.
const ALLOWED = new Set([
  "NONE→DRAFT",
  "DRAFT→SUBMITTED",
  "SUBMITTED→CONFIRMED",
  "CONFIRMED→SHIPPED",
  "SHIPPED→DELIVERED",
  "DRAFT→CANCELLED",
  "SUBMITTED→CANCELLED",
  "CONFIRMED→CANCELLED",
]);

const productId = fc.constantFrom("p1", "p2", "p3");
const item = fc.record({
  productId,
  quantity: fc.integer({ min: 1, max: 20 }),
  unitPrice: fc.constantFrom(0, 99, 1500),
});
const create = fc.record({
  type: fc.constant("CreateOrder"),
  input: fc.record({ customerId: fc.constant("c1"), items: fc.array(item, { maxLength: 3 }) }),
});
// Status steps weigh more, so that sequences often get far down the order's life.
const command = fc.oneof(
  { arbitrary: create, weight: 1 },
  { arbitrary: fc.record({ type: fc.constant("AddItem"), input: item }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant("RemoveItem"), input: fc.record({ productId }) }), weight: 1 },
  ...["SubmitOrder", "ConfirmOrder", "ShipOrder", "DeliverOrder", "CancelOrder"].map((type) => ({
    arbitrary: fc.record({ type: fc.constant(type), input: fc.constant({}) }),
    weight: type === "CancelOrder" ? 1 : 3,
  })),
);
const sequence = fc.tuple(create, fc.array(command, { maxLength: 30 })).map(([first, rest]) => [first, ...rest]);

function decide(type: string, input: unknown, state: OrderState): OrderEvent[] {
  const data = Order.commands[type as keyof typeof Order.commands].input.parse(input);
  const metadata = { commandId: "c", tenantId: "t", aggregateId: "o", header: {}, createdAt: new Date(0) };
  return asEvents(Order.decide({ type, data, metadata } as never, state));
}

describe("Order decider properties", () => {
  it("random command sequences keep the status rules, non-negative totals and replayable events", () => {
    const reached = new Set<string>();
    fc.assert(
      fc.property(sequence, (commands) => {
        let state = Order.initialState();
        const log: OrderEvent[] = [];
        for (const { type, input } of commands) {
          // The gateway refuses update commands on a missing aggregate and create commands on an existing one.
          if ((type === "CreateOrder") !== (state.status === "NONE")) continue;
          let events: OrderEvent[];
          try {
            events = decide(type, input, state);
          } catch (error) {
            expect(error).toBeInstanceOf(DomainError);
            continue;
          }
          for (const event of events) {
            const next = evolveOrder(state, event);
            if (next.status !== state.status) expect(ALLOWED).toContain(`${state.status}→${next.status}`);
            expect(next.total).toBeGreaterThanOrEqual(0);
            expect(next.total).toBe(next.lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0));
            expect(next.lines.every((l) => l.quantity > 0)).toBe(true);
            state = next;
            reached.add(state.status);
            log.push(event);
          }
        }
        const stored = log.map((e) => ({ type: e.type, data: e.data, schemaVersion: e.schemaVersion ?? 1 }));
        expect(replay(Order, stored)).toEqual(state);
      }),
      { numRuns: 500 },
    );
    // The sequences were long enough to exercise every status, not just the first steps.
    expect([...reached].sort()).toEqual(["CANCELLED", "CONFIRMED", "DELIVERED", "DRAFT", "SHIPPED", "SUBMITTED"]);
  });
});
