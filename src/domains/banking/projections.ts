/**
 * The banking read models. Each projection writes through the runner's transaction, in which
 * its checkpoint is stored too, so every event changes the rows exactly once.
 */
import type { RecordedEvent } from "../../core/messages.ts";
import { defineProjection } from "../../core/processors.ts";
import { rowKey } from "../../core/row-key.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { Account, type AccountEvent } from "./account.ts";

type Tx = Prisma.TransactionClient;
type Data<T extends AccountEvent["type"]> = Extract<AccountEvent, { type: T }>["data"];

export const AccountViewProjection = defineProjection<Tx>({
  name: "AccountView",
  tables: ["account_views"],
  // Every account event changes the account row.
  eventTypes: Account.eventTypes,
  async apply(events, tx) {
    for (const event of events) await applyToAccount(event, tx);
  },
});

async function applyToAccount(event: RecordedEvent, tx: Tx): Promise<void> {
  const where = { key: rowKey(event.tenantId, event.aggregateId) };
  const stamp = { version: event.version, updatedAt: event.createdAt };
  switch (event.type as AccountEvent["type"]) {
    case "AccountCreated": {
      const data = event.data as Data<"AccountCreated">;
      await tx.accountView.create({
        data: {
          ...where,
          tenantId: event.tenantId,
          id: event.aggregateId,
          name: data.name,
          balance: data.initialBalance,
          status: "ACTIVE",
          ...stamp,
        },
      });
      return;
    }
    case "MoneyDeposited":
    case "TransferReceived":
      await tx.accountView.update({
        where,
        data: { balance: { increment: (event.data as { amount: number }).amount }, ...stamp },
      });
      return;
    case "MoneyWithdrawn":
      await tx.accountView.update({
        where,
        data: { balance: { decrement: (event.data as { amount: number }).amount }, ...stamp },
      });
      return;
    case "AccountFrozen":
      await tx.accountView.update({ where, data: { status: "FROZEN", ...stamp } });
      return;
    case "AccountUnfrozen":
      await tx.accountView.update({ where, data: { status: "ACTIVE", ...stamp } });
      return;
    case "TransferPrepared":
      await tx.accountView.update({
        where,
        data: { locked: { increment: (event.data as Data<"TransferPrepared">).amount }, ...stamp },
      });
      return;
    case "TransferConfirmed": {
      const { amount } = event.data as Data<"TransferConfirmed">;
      await tx.accountView.update({
        where,
        data: { balance: { decrement: amount }, locked: { decrement: amount }, ...stamp },
      });
      return;
    }
    case "TransferUnlocked":
      await tx.accountView.update({
        where,
        data: { locked: { decrement: (event.data as Data<"TransferUnlocked">).amount }, ...stamp },
      });
      return;
  }
}

/**
 * One row per transfer, keyed by the position of its TransferPrepared event: transfer IDs are
 * the client's, and an account refuses only an ID it has pending itself, so the same ID may
 * belong to another account's transfer, or to this account's earlier one. Confirmation and
 * unlocking happen on the source account and find the one transfer it has pending with that ID.
 */
export const TransferViewProjection = defineProjection<Tx>({
  name: "TransferView",
  tables: ["transfer_views"],
  eventTypes: ["TransferPrepared", "TransferConfirmed", "TransferUnlocked"],
  async apply(events, tx) {
    for (const event of events) {
      switch (event.type as AccountEvent["type"]) {
        case "TransferPrepared": {
          const data = event.data as Data<"TransferPrepared">;
          await tx.transferView.create({
            data: {
              preparedPosition: event.position,
              tenantId: event.tenantId,
              id: data.transferId,
              sourceAccountId: event.aggregateId,
              targetAccountId: data.targetAccountId,
              amount: data.amount,
              status: "PREPARED",
              createdAt: event.createdAt,
              updatedAt: event.createdAt,
            },
          });
          break;
        }
        case "TransferConfirmed":
          await endPendingTransfer(tx, event, (event.data as Data<"TransferConfirmed">).transferId, {
            status: "COMPLETED",
          });
          break;
        case "TransferUnlocked": {
          const data = event.data as Data<"TransferUnlocked">;
          await endPendingTransfer(tx, event, data.transferId, { status: "FAILED", reason: data.reason || "REFUSED" });
          break;
        }
      }
    }
  },
});

async function endPendingTransfer(
  tx: Tx,
  event: RecordedEvent,
  transferId: string,
  outcome: { status: "COMPLETED" | "FAILED"; reason?: string },
): Promise<void> {
  const pending = { tenantId: event.tenantId, sourceAccountId: event.aggregateId, id: transferId, status: "PREPARED" };
  const { count } = await tx.transferView.updateMany({
    where: pending,
    data: { ...outcome, updatedAt: event.createdAt },
  });
  // The account decided this event only with the transfer pending: a missing row is a broken view.
  if (count !== 1) throw new Error(`TransferView: no pending transfer ${transferId} of ${event.aggregateId}`);
}
