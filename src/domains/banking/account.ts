/**
 * The Account aggregate: a balance that can be deposited to, withdrawn from, frozen and
 * unfrozen. Amounts are integers in the currency's smallest unit (cents), so money is exact.
 */
import { z } from "zod";
import { defineAggregate } from "../../core/aggregate.ts";
import { DomainError } from "../../core/errors.ts";
import { type AccountEvent, accountEvents } from "./account-events.ts";

export type { AccountEvent } from "./account-events.ts";

export interface AccountState {
  created: boolean;
  name: string;
  balance: number;
  /** Money held for outgoing transfers not yet confirmed; not available to spend. */
  locked: number;
  frozen: boolean;
  /** Outgoing transfers prepared and not yet confirmed or unlocked, by transfer ID. */
  pending: Record<string, number>;
}

/**
 * The largest balance an account may hold: the largest GraphQL Int, which is also what the read
 * models' integer columns hold. A deposit or a transfer that would pass it is refused, rather
 * than accepted into the log and then impossible to show or project.
 */
export const MAX_BALANCE = 2_147_483_647;

const amount = z.number().int().positive().describe("Amount in the smallest currency unit (cents); > 0");

export const Account = defineAggregate({
  name: "Account",
  events: accountEvents,
  commands: {
    CreateAccount: {
      roles: ["teller"],
      mode: "create",
      description: "Opens an account. Its ID is generated unless command.aggregateId is given.",
      input: z.object({
        name: z.string().trim().min(1).max(200).describe("Holder's name"),
        initialBalance: z.number().int().min(0).default(0).describe("Opening balance in cents; ≥ 0"),
      }),
    },
    Deposit: { roles: ["teller"], description: "Adds money to an account.", input: z.object({ amount }) },
    Withdraw: {
      roles: ["teller"],
      description: "Takes money from an account; refused with INSUFFICIENT_BALANCE when it would go negative.",
      input: z.object({ amount }),
    },
    FreezeAccount: {
      roles: ["supervisor"],
      description: "Stops all movements on the account until it is unfrozen.",
      input: z.object({ reason: z.string().trim().max(500).default("").describe("Why the account is frozen") }),
    },
    UnfreezeAccount: { roles: ["supervisor"], description: "Allows movements again.", input: z.object({}) },
    PrepareTransfer: {
      roles: ["teller"],
      description:
        "Starts a transfer from this account: locks the amount, then the transfer saga credits the target and confirms (or unlocks when the target refuses).",
      input: z.object({
        transferId: z.string().trim().min(1).max(200).describe("Client-chosen ID of the transfer"),
        targetAccountId: z.string().trim().min(1).max(200),
        amount,
      }),
    },
    ReceiveTransfer: {
      internal: true,
      description: "Credits a transfer to this account (sent by the transfer saga).",
      input: z.object({ transferId: z.string().min(1).max(200), sourceAccountId: z.string().min(1).max(200), amount }),
    },
    ConfirmTransfer: {
      internal: true,
      description: "Completes a prepared transfer: the locked amount leaves the account (sent by the transfer saga).",
      input: z.object({ transferId: z.string().min(1).max(200) }),
    },
    UnlockTransfer: {
      internal: true,
      description: "Cancels a prepared transfer: the locked amount is available again (the saga's compensation).",
      input: z.object({ transferId: z.string().min(1).max(200), reason: z.string().max(500).default("") }),
    },
  },
  initialState: (): AccountState => ({ created: false, name: "", balance: 0, locked: 0, frozen: false, pending: {} }),

  decide(command, state): AccountEvent | AccountEvent[] {
    switch (command.type) {
      case "CreateAccount":
        return {
          type: "AccountCreated",
          data: { name: command.data.name, initialBalance: command.data.initialBalance },
        };
      case "Deposit":
        assertActive(state);
        assertRoomFor(state, command.data.amount);
        return { type: "MoneyDeposited", data: { amount: command.data.amount } };
      case "Withdraw":
        assertActive(state);
        assertAvailable(state, command.data.amount);
        return { type: "MoneyWithdrawn", data: { amount: command.data.amount } };
      case "PrepareTransfer": {
        const { transferId, targetAccountId, amount } = command.data;
        assertActive(state);
        if (targetAccountId === command.metadata.aggregateId) {
          throw new DomainError("SAME_ACCOUNT", "A transfer needs two different accounts");
        }
        if (pendingAmount(state, transferId) !== undefined)
          throw new DomainError("TRANSFER_EXISTS", `Transfer ${transferId} is already pending`);
        assertAvailable(state, amount);
        return { type: "TransferPrepared", data: { transferId, targetAccountId, amount } };
      }
      case "ReceiveTransfer":
        assertActive(state);
        assertRoomFor(state, command.data.amount);
        return { type: "TransferReceived", data: { ...command.data } };
      case "ConfirmTransfer": {
        const amount = pendingAmount(state, command.data.transferId);
        if (amount === undefined)
          throw new DomainError("TRANSFER_NOT_PENDING", `No pending transfer ${command.data.transferId}`);
        return { type: "TransferConfirmed", data: { transferId: command.data.transferId, amount } };
      }
      case "UnlockTransfer": {
        const amount = pendingAmount(state, command.data.transferId);
        if (amount === undefined)
          throw new DomainError("TRANSFER_NOT_PENDING", `No pending transfer ${command.data.transferId}`);
        return {
          type: "TransferUnlocked",
          data: { transferId: command.data.transferId, amount, reason: command.data.reason },
        };
      }
      case "FreezeAccount":
        if (state.frozen) throw new DomainError("ACCOUNT_FROZEN", "The account is already frozen");
        return { type: "AccountFrozen", data: { reason: command.data.reason } };
      case "UnfreezeAccount":
        if (!state.frozen) throw new DomainError("ACCOUNT_NOT_FROZEN", "The account is not frozen");
        return { type: "AccountUnfrozen", data: {} };
    }
  },

  evolve(state: AccountState, event: AccountEvent): AccountState {
    switch (event.type) {
      case "AccountCreated":
        return { ...state, created: true, name: event.data.name, balance: event.data.initialBalance };
      case "MoneyDeposited":
        return { ...state, balance: state.balance + event.data.amount };
      case "MoneyWithdrawn":
        return { ...state, balance: state.balance - event.data.amount };
      case "AccountFrozen":
        return { ...state, frozen: true };
      case "AccountUnfrozen":
        return { ...state, frozen: false };
      case "TransferPrepared":
        return {
          ...state,
          locked: state.locked + event.data.amount,
          pending: { ...state.pending, [event.data.transferId]: event.data.amount },
        };
      case "TransferReceived":
        return { ...state, balance: state.balance + event.data.amount };
      case "TransferConfirmed":
        return {
          ...state,
          balance: state.balance - event.data.amount,
          locked: state.locked - event.data.amount,
          pending: without(state.pending, event.data.transferId),
        };
      case "TransferUnlocked":
        return {
          ...state,
          locked: state.locked - event.data.amount,
          pending: without(state.pending, event.data.transferId),
        };
    }
  },
});

function assertAvailable(state: AccountState, amount: number): void {
  const available = state.balance - state.locked;
  if (available < amount) {
    throw new DomainError(
      "INSUFFICIENT_BALANCE",
      `Available balance ${available} is less than the ${amount} asked for`,
    );
  }
}

function assertRoomFor(state: AccountState, amount: number): void {
  if (state.balance + amount > MAX_BALANCE) {
    throw new DomainError(
      "BALANCE_LIMIT_EXCEEDED",
      `The balance ${state.balance} plus ${amount} would pass the largest balance, ${MAX_BALANCE}`,
    );
  }
}

/**
 * The amount of a pending transfer. An own-property check: transfer IDs are the client's, and
 * `"toString" in {}` is true.
 */
const pendingAmount = (state: AccountState, transferId: string): number | undefined =>
  Object.hasOwn(state.pending, transferId) ? state.pending[transferId] : undefined;

const without = (pending: Record<string, number>, key: string) => {
  const { [key]: _removed, ...rest } = pending;
  return rest;
};

function assertActive(state: AccountState): void {
  if (state.frozen) throw new DomainError("ACCOUNT_FROZEN", "The account is frozen: no movements until it is unfrozen");
}
