/**
 * The Account aggregate: a balance that can be deposited to, withdrawn from, frozen and
 * unfrozen. Amounts are integers in the currency's smallest unit (cents), so money is exact.
 */
import { z } from "zod";
import { defineAggregate } from "../../core/aggregate.ts";
import { DomainError } from "../../core/errors.ts";
import type { DomainEvent } from "../../core/messages.ts";

export type AccountEvent =
  | DomainEvent<"AccountCreated", { name: string; initialBalance: number }>
  | DomainEvent<"MoneyDeposited", { amount: number }>
  | DomainEvent<"MoneyWithdrawn", { amount: number }>
  | DomainEvent<"AccountFrozen", { reason: string }>
  | DomainEvent<"AccountUnfrozen", Record<string, never>>;

export interface AccountState {
  created: boolean;
  name: string;
  balance: number;
  frozen: boolean;
}

const amount = z.number().int().positive().describe("Amount in the smallest currency unit (cents); > 0");

export const Account = defineAggregate({
  name: "Account",
  eventTypes: ["AccountCreated", "MoneyDeposited", "MoneyWithdrawn", "AccountFrozen", "AccountUnfrozen"],
  commands: {
    CreateAccount: {
      mode: "create",
      description: "Opens an account. Its ID is generated unless command.aggregateId is given.",
      input: z.object({
        name: z.string().trim().min(1).max(200).describe("Holder's name"),
        initialBalance: z.number().int().min(0).default(0).describe("Opening balance in cents; ≥ 0"),
      }),
    },
    Deposit: { description: "Adds money to an account.", input: z.object({ amount }) },
    Withdraw: {
      description: "Takes money from an account; refused with INSUFFICIENT_BALANCE when it would go negative.",
      input: z.object({ amount }),
    },
    FreezeAccount: {
      description: "Stops all movements on the account until it is unfrozen.",
      input: z.object({ reason: z.string().trim().max(500).default("").describe("Why the account is frozen") }),
    },
    UnfreezeAccount: { description: "Allows movements again.", input: z.object({}) },
  },
  initialState: (): AccountState => ({ created: false, name: "", balance: 0, frozen: false }),

  decide(command, state): AccountEvent | AccountEvent[] {
    switch (command.type) {
      case "CreateAccount":
        return {
          type: "AccountCreated",
          data: { name: command.data.name, initialBalance: command.data.initialBalance },
        };
      case "Deposit":
        assertActive(state);
        return { type: "MoneyDeposited", data: { amount: command.data.amount } };
      case "Withdraw":
        assertActive(state);
        if (state.balance < command.data.amount) {
          throw new DomainError(
            "INSUFFICIENT_BALANCE",
            `Balance ${state.balance} is less than the ${command.data.amount} to withdraw`,
          );
        }
        return { type: "MoneyWithdrawn", data: { amount: command.data.amount } };
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
    }
  },
});

function assertActive(state: AccountState): void {
  if (state.frozen) throw new DomainError("ACCOUNT_FROZEN", "The account is frozen: no movements until it is unfrozen");
}
