/**
 * A money transfer across two accounts: PrepareTransfer locks the amount on the source; this
 * saga then credits the target (ReceiveTransfer) and confirms on the source. When the target
 * refuses (missing, frozen), it unlocks the source instead: compensation is just a command.
 */
import { defineSaga } from "../../core/processors.ts";
import { commandFor } from "../../core/saga-commands.ts";
import { on } from "../../core/subscriptions.ts";
import { Account } from "./account.ts";

export const TransferSaga = defineSaga({
  name: "TransferSaga",
  handles: [on(Account, "TransferPrepared", "TransferReceived")],
  react(event) {
    switch (event.type) {
      case "TransferPrepared": {
        const { transferId, targetAccountId, amount } = event.data;
        return [
          commandFor(Account, "ReceiveTransfer", {
            aggregateId: targetAccountId,
            key: "entry",
            data: { transferId, sourceAccountId: event.aggregateId, amount },
            onRejected: (rejection) => [
              commandFor(Account, "UnlockTransfer", {
                aggregateId: event.aggregateId,
                key: "unlock",
                data: { transferId, reason: rejection.errorCode },
              }),
            ],
          }),
        ];
      }
      case "TransferReceived": {
        const { transferId, sourceAccountId } = event.data;
        return [
          commandFor(Account, "ConfirmTransfer", {
            aggregateId: sourceAccountId,
            key: "confirm",
            data: { transferId },
          }),
        ];
      }
    }
  },
});
