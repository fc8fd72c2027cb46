/**
 * The banking read models. Each projection writes through the runner's transaction, in which
 * its checkpoint is stored too, so every event changes the rows exactly once.
 */
import { defineProjection } from "../../core/processors.ts";
import { rowKey } from "../../core/row-key.ts";
import { type HandledEvent, on } from "../../core/subscriptions.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { Account } from "./account.ts";

type Tx = Prisma.TransactionClient;

// Every account event changes the account row.
const accountEvents = on(Account);
type AccountRecord = HandledEvent<typeof accountEvents>;

export const AccountViewProjection = defineProjection({
  name: "AccountView",
  tables: ["account_views"],
  handles: [accountEvents],
  async apply(events, tx: Tx) {
    await applyToAccounts(events, tx);
  },
});

type AccountRow = Prisma.AccountViewCreateManyInput;

/**
 * Set-based: a batch's events are folded per account in memory and each touched row is written
 * once, so a batch costs at most three statements however many events and accounts it holds (a
 * catch-up over a long log used to cost one statement per event). Rows that existed before the
 * batch are read, replaced (delete, then insert with the folded values) and inserted together with
 * the batch's new accounts. The runner holds the checkpoint lock for the batch, and nothing else
 * writes this table (it is the projection's own, see `tables`), so reading then replacing is safe.
 */
async function applyToAccounts(events: readonly AccountRecord[], tx: Tx): Promise<void> {
  const byKey = new Map<string, AccountRecord[]>();
  for (const event of events) {
    const key = rowKey(event.tenantId, event.aggregateId);
    const list = byKey.get(key);
    if (list) list.push(event);
    else byKey.set(key, [event]);
  }
  // An account created in this batch must not exist yet (the insert's key says so if it does):
  // only the others are read.
  const toRead = [...byKey].filter(([, list]) => list[0]?.type !== "AccountCreated").map(([key]) => key);
  const existing: AccountRow[] =
    toRead.length > 0 ? await tx.accountView.findMany({ where: { key: { in: toRead } } }) : [];
  const rows = new Map<string, AccountRow | undefined>(existing.map((row) => [row.key, { ...row }]));
  const replaced = new Set(rows.keys());
  for (const [key, list] of byKey) {
    let row = rows.get(key);
    for (const event of list) row = evolveRow(row, key, event);
    rows.set(key, row);
  }
  if (replaced.size > 0) await tx.accountView.deleteMany({ where: { key: { in: [...replaced] } } });
  await tx.accountView.createMany({ data: [...rows.values()].filter((row) => row !== undefined) });
}

/** One event on one account row (undefined: not created yet). */
function evolveRow(row: AccountRow | undefined, key: string, event: AccountRecord): AccountRow {
  const stamp = { version: event.version, updatedAt: event.createdAt };
  if (event.type === "AccountCreated") {
    // The account decided this event only once: a second one is a broken view.
    if (row) throw new Error(`AccountView: account ${event.aggregateId} created twice`);
    const { data } = event;
    return {
      key,
      tenantId: event.tenantId,
      id: event.aggregateId,
      name: data.name,
      balance: data.initialBalance,
      locked: 0,
      status: "ACTIVE",
      ...stamp,
    };
  }
  // The account decided this event only once it existed: a missing row is a broken view.
  if (!row) throw new Error(`AccountView: no row for account ${event.aggregateId} (event ${event.position})`);
  const locked = row.locked ?? 0;
  switch (event.type) {
    case "MoneyDeposited":
    case "TransferReceived":
      return { ...row, balance: row.balance + event.data.amount, ...stamp };
    case "MoneyWithdrawn":
      return { ...row, balance: row.balance - event.data.amount, ...stamp };
    case "AccountFrozen":
      return { ...row, status: "FROZEN", ...stamp };
    case "AccountUnfrozen":
      return { ...row, status: "ACTIVE", ...stamp };
    case "TransferPrepared":
      return { ...row, locked: locked + event.data.amount, ...stamp };
    case "TransferConfirmed": {
      const { amount } = event.data;
      return { ...row, balance: row.balance - amount, locked: locked - amount, ...stamp };
    }
    case "TransferUnlocked":
      return { ...row, locked: locked - event.data.amount, ...stamp };
  }
}

/**
 * One row per transfer, keyed by the position of its TransferPrepared event: transfer IDs are
 * the client's, and an account refuses only an ID it has pending itself, so the same ID may
 * belong to another account's transfer, or to this account's earlier one. Confirmation and
 * unlocking happen on the source account and end the one transfer it has pending with that ID.
 *
 * Set-based like AccountView: a batch is folded in memory (a transfer prepared and ended in one
 * batch is written once, already ended), the rows pending from earlier batches that it ends are
 * read with one statement, replaced (delete, then insert with their outcome) and inserted with
 * the new ones: at most three statements a batch. Under a transfer load this view used to be the
 * last runner to catch up, one statement per event.
 */
const transferEvents = on(Account, "TransferPrepared", "TransferConfirmed", "TransferUnlocked");
type TransferRecord = HandledEvent<typeof transferEvents>;

export const TransferViewProjection = defineProjection({
  name: "TransferView",
  tables: ["transfer_views"],
  handles: [transferEvents],
  async apply(events, tx: Tx) {
    await applyToTransfers(events, tx);
  },
});

type TransferRow = Prisma.TransferViewCreateManyInput;

/** The key an account's pending transfer is found by (unique while it is pending). */
const pendingKey = (tenantId: string, sourceAccountId: string, transferId: string) =>
  JSON.stringify([tenantId, sourceAccountId, transferId]);

async function applyToTransfers(events: readonly TransferRecord[], tx: Tx): Promise<void> {
  // Ends of transfers prepared before this batch: those rows are read first, in one statement.
  const preparedHere = new Set<string>();
  const endedFromBefore = new Map<string, { tenantId: string; sourceAccountId: string; id: string }>();
  for (const event of events) {
    const transferId = event.data.transferId;
    const key = pendingKey(event.tenantId, event.aggregateId, transferId);
    if (event.type === "TransferPrepared") preparedHere.add(key);
    else if (!preparedHere.has(key)) {
      endedFromBefore.set(key, { tenantId: event.tenantId, sourceAccountId: event.aggregateId, id: transferId });
    }
  }
  const earlier: TransferRow[] =
    endedFromBefore.size > 0
      ? await tx.transferView.findMany({ where: { status: "PREPARED", OR: [...endedFromBefore.values()] } })
      : [];
  const pending = new Map<string, TransferRow>(
    earlier.map((row) => [pendingKey(row.tenantId, row.sourceAccountId, row.id), { ...row }]),
  );
  const written: TransferRow[] = [...pending.values()];
  for (const event of events) {
    const key = pendingKey(event.tenantId, event.aggregateId, event.data.transferId);
    if (event.type === "TransferPrepared") {
      const { data } = event;
      const row: TransferRow = {
        preparedPosition: event.position,
        tenantId: event.tenantId,
        id: data.transferId,
        sourceAccountId: event.aggregateId,
        targetAccountId: data.targetAccountId,
        amount: data.amount,
        status: "PREPARED",
        createdAt: event.createdAt,
        updatedAt: event.createdAt,
      };
      pending.set(key, row);
      written.push(row);
      continue;
    }
    const row = pending.get(key);
    // The account decided this event only with the transfer pending: a missing row is a broken view.
    if (!row) throw new Error(`TransferView: no pending transfer ${event.data.transferId} of ${event.aggregateId}`);
    pending.delete(key);
    if (event.type === "TransferConfirmed") row.status = "COMPLETED";
    else {
      row.status = "FAILED";
      row.reason = event.data.reason || "REFUSED";
    }
    row.updatedAt = event.createdAt;
  }
  if (earlier.length > 0) {
    await tx.transferView.deleteMany({
      where: { preparedPosition: { in: earlier.map((row) => BigInt(row.preparedPosition)) } },
    });
  }
  if (written.length > 0) await tx.transferView.createMany({ data: written });
}
