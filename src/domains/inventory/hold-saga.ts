/**
 * The hold saga (the tutorial's): a placed hold reserves its units on the stock, then confirms
 * the hold. A refusal stops the reaction before the confirmation, and its compensation rejects
 * the hold with the stock's code (OUT_OF_STOCK, or AGGREGATE_NOT_FOUND for an unknown SKU).
 */
import { defineSaga } from "../../core/processors.ts";
import { commandFor } from "../../core/saga-commands.ts";
import { on } from "../../core/subscriptions.ts";
import { Hold } from "./hold.ts";
import { Stock } from "./stock.ts";

export const HoldSaga = defineSaga({
  name: "HoldSaga",
  handles: [on(Hold, "HoldPlaced")],
  react(event) {
    const holdId = event.aggregateId;
    return [
      commandFor(Stock, "ReserveStock", {
        aggregateId: event.data.sku,
        key: "reserve",
        data: { holdId, quantity: event.data.quantity },
        onRejected: (rejection) => [
          commandFor(Hold, "RejectHold", { aggregateId: holdId, key: "reject", data: { reason: rejection.errorCode } }),
        ],
      }),
      commandFor(Hold, "ConfirmHold", { aggregateId: holdId, key: "confirm", data: {} }),
    ];
  },
});
