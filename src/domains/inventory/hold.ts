/**
 * The Hold aggregate (the tutorial's): a customer asks to hold some units of a SKU; the hold
 * saga reserves them on the stock and then confirms the hold, or rejects it with the stock's
 * refusal. The event carries what the saga needs (SKU and quantity), so it never has to look.
 */
import { z } from "zod";
import { defineAggregate } from "../../core/aggregate.ts";
import { DomainError } from "../../core/errors.ts";
import type { EventOf } from "../../core/events.ts";

export const holdEvents = {
  HoldPlaced: z.object({ sku: z.string(), quantity: z.number().int().positive() }),
  HoldConfirmed: z.object({}),
  HoldRejected: z.object({ reason: z.string() }),
};

export type HoldEvent = EventOf<typeof holdEvents>;

export type HoldStatus = "NONE" | "PENDING" | "CONFIRMED" | "REJECTED";

export const Hold = defineAggregate({
  name: "Hold",
  events: holdEvents,
  validateEvents: true,
  commands: {
    PlaceHold: {
      roles: ["clerk"],
      mode: "create",
      description:
        "Asks to hold units of a SKU; the hold is then confirmed or rejected (watch SAGA_HANDLED with chain).",
      input: z.object({
        sku: z.string().trim().min(1).max(200).describe("The stock's SKU"),
        quantity: z.number().int().min(1).max(1_000).describe("Units to hold; 1 to 1,000"),
      }),
    },
    ConfirmHold: {
      internal: true,
      description: "The units are reserved (sent by the hold saga).",
      input: z.object({}),
    },
    RejectHold: {
      internal: true,
      description: "The stock refused (sent by the hold saga).",
      input: z.object({ reason: z.string().max(200) }),
    },
  },
  initialState: (): { status: HoldStatus } => ({ status: "NONE" }),

  decide(command, state) {
    switch (command.type) {
      case "PlaceHold":
        return [{ type: "HoldPlaced", data: { sku: command.data.sku, quantity: command.data.quantity } }];
      case "ConfirmHold":
      case "RejectHold":
        if (state.status !== "PENDING") throw new DomainError("HOLD_NOT_PENDING", `The hold is ${state.status}`);
        return command.type === "ConfirmHold"
          ? [{ type: "HoldConfirmed", data: {} }]
          : [{ type: "HoldRejected", data: { reason: command.data.reason } }];
    }
  },

  evolve(_state, event) {
    switch (event.type) {
      case "HoldPlaced":
        return { status: "PENDING" };
      case "HoldConfirmed":
        return { status: "CONFIRMED" };
      case "HoldRejected":
        return { status: "REJECTED" };
    }
  },
});
