import { describe, it } from "vitest";
import { Account, type AccountEvent, MAX_BALANCE } from "../../../src/domains/banking/account.ts";
import { spec } from "../../../src/testing/decider-spec.ts";

const created: AccountEvent = { type: "AccountCreated", data: { name: "Ada", initialBalance: 100 } };
const frozen: AccountEvent = { type: "AccountFrozen", data: { reason: "audit" } };

describe("Account decider", () => {
  it("opens an account with its initial balance (0 by default)", () => {
    spec(Account)
      .given([])
      .when("CreateAccount", { name: " Ada " })
      .thenEvents([{ type: "AccountCreated", data: { name: "Ada", initialBalance: 0 } }]);
    spec(Account)
      .given([])
      .when("CreateAccount", { name: "Ada", initialBalance: 100 })
      .thenState({ created: true, balance: 100, frozen: false });
  });

  it("deposits and withdraws", () => {
    spec(Account)
      .given([created])
      .when("Deposit", { amount: 5 })
      .thenEvents([{ type: "MoneyDeposited", data: { amount: 5 } }])
      .thenState({ balance: 105 });
    spec(Account).given([created]).when("Withdraw", { amount: 100 }).thenState({ balance: 0 });
  });

  it("refuses a withdrawal that would make the balance negative", () => {
    spec(Account).given([created]).when("Withdraw", { amount: 101 }).thenFails("INSUFFICIENT_BALANCE");
  });

  it("a frozen account refuses movements until unfrozen", () => {
    spec(Account).given([created, frozen]).when("Deposit", { amount: 1 }).thenFails("ACCOUNT_FROZEN");
    spec(Account).given([created, frozen]).when("Withdraw", { amount: 1 }).thenFails("ACCOUNT_FROZEN");
    spec(Account).given([created, frozen]).when("FreezeAccount", {}).thenFails("ACCOUNT_FROZEN");
    spec(Account)
      .given([created, frozen])
      .when("UnfreezeAccount", {})
      .thenEvents([{ type: "AccountUnfrozen", data: {} }])
      .thenState({ frozen: false });
    spec(Account).given([created]).when("UnfreezeAccount", {}).thenFails("ACCOUNT_NOT_FROZEN");
  });

  it("rejects non-positive amounts at validation, before deciding", ({ expect }) => {
    expect(() => spec(Account).given([created]).when("Deposit", { amount: -1 })).toThrow();
    expect(() => spec(Account).given([created]).when("Deposit", { amount: 0 })).toThrow();
  });

  it("transfer IDs that every object inherits (toString, constructor) are plain IDs, not pending transfers", () => {
    spec(Account)
      .given([created])
      .when("ConfirmTransfer", { transferId: "toString" })
      .thenFails("TRANSFER_NOT_PENDING");
    spec(Account)
      .given([created])
      .when("UnlockTransfer", { transferId: "constructor" })
      .thenFails("TRANSFER_NOT_PENDING");
    spec(Account)
      .given([created])
      .when("PrepareTransfer", { transferId: "constructor", targetAccountId: "other", amount: 5 })
      .thenEvents([
        { type: "TransferPrepared", data: { transferId: "constructor", targetAccountId: "other", amount: 5 } },
      ])
      .thenState({ locked: 5, pending: { constructor: 5 } });
  });

  it("refuses a deposit or a transfer credit that would pass MAX_BALANCE (the largest GraphQL Int)", () => {
    spec(Account)
      .given([created])
      .when("Deposit", { amount: MAX_BALANCE - 100 })
      .thenState({ balance: MAX_BALANCE });
    spec(Account)
      .given([created])
      .when("Deposit", { amount: MAX_BALANCE - 99 })
      .thenFails("BALANCE_LIMIT_EXCEEDED");
    spec(Account)
      .given([created])
      .when("ReceiveTransfer", { transferId: "t", sourceAccountId: "s", amount: MAX_BALANCE - 99 })
      .thenFails("BALANCE_LIMIT_EXCEEDED");
  });

  it("the helper itself fails when the expectation is wrong", ({ expect }) => {
    expect(() => spec(Account).given([created]).when("Withdraw", { amount: 101 }).thenEvents([])).toThrow();
    expect(() =>
      spec(Account).given([created]).when("Withdraw", { amount: 1 }).thenFails("INSUFFICIENT_BALANCE"),
    ).toThrow();
    expect(() => spec(Account).given([created]).when("Deposit", { amount: 1 }).thenState({ balance: 1 })).toThrow();
  });
});
