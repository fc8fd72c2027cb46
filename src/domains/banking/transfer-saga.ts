/**
 * A money transfer across two accounts: PrepareTransfer locks the amount on the source; this
 * saga then credits the target (ReceiveTransfer) and confirms on the source. When the target
 * refuses (missing, frozen), it unlocks the source instead: compensation is just a command.
 */
import { defineSaga } from "../../core/processors.ts";
import type { AccountEvent } from "./account.ts";

export const TransferSaga = defineSaga<AccountEvent>({
  name: "TransferSaga",
  eventTypes: ["TransferPrepared", "TransferReceived"],
  react(event) {
    switch (event.type) {
      case "TransferPrepared": {
        const { transferId, targetAccountId, amount } = event.data as Extract<
          AccountEvent,
          { type: "TransferPrepared" }
        >["data"];
        return [
          {
            aggregateName: "Account",
            aggregateId: targetAccountId,
            type: "ReceiveTransfer",
            key: "entry",
            data: { transferId, sourceAccountId: event.aggregateId, amount },
            onRejected: (rejection) => [
              {
                aggregateName: "Account",
                aggregateId: event.aggregateId,
                type: "UnlockTransfer",
                key: "unlock",
                data: { transferId, reason: rejection.errorCode },
              },
            ],
          },
        ];
      }
      case "TransferReceived": {
        const { transferId, sourceAccountId } = event.data as Extract<
          AccountEvent,
          { type: "TransferReceived" }
        >["data"];
        return [
          {
            aggregateName: "Account",
            aggregateId: sourceAccountId,
            type: "ConfirmTransfer",
            key: "confirm",
            data: { transferId },
          },
        ];
      }
      default:
        return [];
    }
  },
});
