/**
 * The banking read models. Each projection writes through the runner's transaction, in which
 * its checkpoint is stored too, so every event changes the rows exactly once.
 */
import type { RecordedEvent } from "../../core/messages.ts";
import { defineProjection } from "../../core/processors.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { Account, type AccountEvent } from "./account.ts";

type Tx = Prisma.TransactionClient;
const key = (tenantId: string, id: string) => `${tenantId}:${id}`;
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
  const where = { key: key(event.tenantId, event.aggregateId) };
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
              key: key(event.tenantId, data.transferId),
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
          await tx.transferView.update({
            where: { key: key(event.tenantId, (event.data as Data<"TransferConfirmed">).transferId) },
            data: { status: "COMPLETED", updatedAt: event.createdAt },
          });
          break;
        case "TransferUnlocked": {
          const data = event.data as Data<"TransferUnlocked">;
          await tx.transferView.update({
            where: { key: key(event.tenantId, data.transferId) },
            data: { status: "FAILED", reason: data.reason || "REFUSED", updatedAt: event.createdAt },
          });
          break;
        }
      }
    }
  },
});
