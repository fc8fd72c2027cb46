/**
 * The Stock aggregate (the tutorial's, docs/tutorial.md): how many of one SKU are on hand and
 * how many of those are held for customers. Its ID is the SKU. Setting the level creates the
 * stock or changes it (a create-or-update command); reserving is the hold saga's to send.
 */
import { z } from "zod";
import { defineAggregate } from "../../core/aggregate.ts";
import { DomainError } from "../../core/errors.ts";
import type { EventOf } from "../../core/events.ts";

const count = z.number().int().min(0).max(1_000_000);

export const stockEvents = {
  StockLevelSet: z.object({ onHand: count }),
  StockReserved: z.object({ holdId: z.string(), quantity: count.positive() }),
};

export type StockEvent = EventOf<typeof stockEvents>;

export interface StockState {
  onHand: number;
  reserved: number;
}

export const Stock = defineAggregate({
  name: "Stock",
  events: stockEvents,
  validateEvents: true,
  commands: {
    SetStockLevel: {
      roles: ["catalog"],
      mode: "upsert",
      description: "Sets how many of this SKU are on hand (creates the stock when new). Not below what is reserved.",
      input: z.object({ onHand: count.describe("Units on hand") }),
    },
    ReserveStock: {
      internal: true,
      description: "Holds units for a customer's hold (sent by the hold saga); OUT_OF_STOCK when too few are free.",
      input: z.object({ holdId: z.string().min(1).max(200), quantity: count.positive() }),
    },
  },
  initialState: (): StockState => ({ onHand: 0, reserved: 0 }),

  decide(command, state) {
    switch (command.type) {
      case "SetStockLevel":
        if (command.data.onHand < state.reserved) {
          throw new DomainError("BELOW_RESERVED", `${state.reserved} units are reserved; on hand cannot go below that`);
        }
        return [{ type: "StockLevelSet", data: { onHand: command.data.onHand } }];
      case "ReserveStock": {
        const free = state.onHand - state.reserved;
        if (command.data.quantity > free) {
          throw new DomainError("OUT_OF_STOCK", `Only ${free} free, ${command.data.quantity} asked for`);
        }
        return [{ type: "StockReserved", data: { holdId: command.data.holdId, quantity: command.data.quantity } }];
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case "StockLevelSet":
        return { ...state, onHand: event.data.onHand };
      case "StockReserved":
        return { ...state, reserved: state.reserved + event.data.quantity };
    }
  },
});
