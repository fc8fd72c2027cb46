/**
 * Property tests of the banking deciders, pure (no storage): random sequences of commands on a
 * few accounts, with the transfer saga's reactions run in a random interleaving, as the runners
 * would. Each command goes the gateway's way: its zod schema first, then the create/update rule
 * (a create needs a new stream, an update an existing one), then `decide`, then `evolve`.
 *
 * Invariants after every step: balance, locked and available are never negative; locked is
 * exactly the sum of pending transfers; a balance never passes MAX_BALANCE. Money is conserved:
 * deposits − withdrawals = the sum of balances, up to transfers credited and not yet confirmed;
 * once the saga has settled, exactly, with nothing locked. Any produced log replays to the same
 * state, whole, through JSON (as the event log stores it) and from a snapshot at any version.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { asEvents, replay } from "../../../src/core/aggregate.ts";
import { DomainError } from "../../../src/core/errors.ts";
import type { RecordedEvent } from "../../../src/core/messages.ts";
import type { SagaCommand, SagaContext } from "../../../src/core/processors.ts";
import { Account, type AccountEvent, type AccountState, MAX_BALANCE } from "../../../src/domains/banking/account.ts";
import { TransferSaga } from "../../../src/domains/banking/transfer-saga.ts";

const ACCOUNTS = ["acc-a", "acc-b", "acc-c"] as const;
/** A few plain IDs, so that they collide, and the keys every plain object already "has". */
const TRANSFER_IDS = ["t1", "t2", "t3", "toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"];

type CommandType = keyof typeof Account.commands;
interface Sent {
  accountId: string;
  type: CommandType;
  input: Record<string, unknown>;
}

const accountId = fc.constantFrom(...ACCOUNTS);
const transferId = fc.constantFrom(...TRANSFER_IDS);
/** Small amounts meet each other (exact balances, exact refusals); huge ones meet MAX_BALANCE. */
const money = fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 2_147_483_647 }));

/** What a client may send: every command except the saga's own. */
const clientCommand: fc.Arbitrary<Sent> = fc.oneof(
  fc.record({
    accountId,
    type: fc.constant("CreateAccount" as const),
    input: fc.record({ name: fc.constantFrom("Ada", "Bob", " "), initialBalance: money }),
  }),
  fc.record({ accountId, type: fc.constant("Deposit" as const), input: fc.record({ amount: money }) }),
  fc.record({ accountId, type: fc.constant("Withdraw" as const), input: fc.record({ amount: money }) }),
  fc.record({ accountId, type: fc.constant("FreezeAccount" as const), input: fc.constant({ reason: "audit" }) }),
  fc.record({ accountId, type: fc.constant("UnfreezeAccount" as const), input: fc.constant({}) }),
  fc.record({
    accountId,
    type: fc.constant("PrepareTransfer" as const),
    input: fc.record({ transferId, targetAccountId: fc.constantFrom(...ACCOUNTS, "acc-missing"), amount: money }),
  }),
);

/** The saga's commands sent by hand: a client the API does not stop from sending them. */
const sagaCommandByHand: fc.Arbitrary<Sent> = fc.oneof(
  fc.record({
    accountId,
    type: fc.constant("ReceiveTransfer" as const),
    input: fc.record({ transferId, sourceAccountId: accountId, amount: money }),
  }),
  fc.record({ accountId, type: fc.constant("ConfirmTransfer" as const), input: fc.record({ transferId }) }),
  fc.record({
    accountId,
    type: fc.constant("UnlockTransfer" as const),
    input: fc.record({ transferId, reason: fc.constant("by hand") }),
  }),
);

/** One step: a command from outside, or one of the saga's queued reactions (picked at random). */
type Step = { send: Sent } | { saga: number };
const steps = (commands: fc.Arbitrary<Sent>) =>
  fc.array(
    fc.oneof(
      commands.map((send) => ({ send })),
      fc.nat().map((saga) => ({ saga })),
    ),
    { maxLength: 60 },
  );

/** A few accounts, their logs, and the saga's pending reactions: the gateway and runners, in memory. */
class Bank {
  readonly logs = new Map<string, AccountEvent[]>(ACCOUNTS.map((id) => [id, []]));
  readonly states = new Map<string, AccountState>(ACCOUNTS.map((id) => [id, Account.initialState()]));
  /** Commands the saga has issued and the runner has not sent yet. */
  readonly sagaQueue: SagaCommand[] = [];
  /** Money in from outside (initial balances, deposits) minus money out (withdrawals). */
  external = 0;
  /** Transfers credited to their target and not yet confirmed on their source: counted on both sides meanwhile. */
  inFlight = 0;

  stateOf(id: string): AccountState {
    return this.states.get(id) ?? Account.initialState();
  }

  /** Sends one command; returns the events it produced, or the code it was refused with. */
  send({ accountId, type, input }: Sent): { events: AccountEvent[] } | { refused: string } {
    const parsed = Account.commands[type].input.safeParse(input);
    if (!parsed.success) return { refused: "VALIDATION_FAILED" };
    const state = this.stateOf(accountId);
    const mode = (Account.commands[type] as { mode?: string }).mode ?? "update";
    if (mode === "create" && (this.logs.get(accountId)?.length ?? 0) > 0) return { refused: "STREAM_EXISTS" };
    if (mode === "update" && !state.created) return { refused: "AGGREGATE_NOT_FOUND" };
    let events: AccountEvent[];
    try {
      const command = {
        type,
        data: parsed.data,
        metadata: { commandId: "c", tenantId: "t", aggregateId: accountId, header: {}, createdAt: new Date(0) },
      };
      events = asEvents(Account.decide(command as never, state));
    } catch (error) {
      if (error instanceof DomainError) return { refused: error.code };
      throw error;
    }
    let next = state;
    for (const event of events) {
      next = Account.evolve(next, event);
      this.logs.get(accountId)?.push(event);
      this.count(event);
      this.sagaQueue.push(...this.react(accountId, event));
    }
    this.states.set(accountId, next);
    return { events };
  }

  /** Runs one queued saga command, with its compensation when it is refused. */
  runSaga(pick: number): void {
    if (this.sagaQueue.length === 0) return;
    const [command] = this.sagaQueue.splice(pick % this.sagaQueue.length, 1);
    const outcome = this.send({
      accountId: command!.aggregateId,
      type: command!.type as CommandType,
      input: command!.data,
    });
    if ("refused" in outcome) {
      // The transfer saga's reactions are single commands: nothing accepted before, nothing left unsent.
      const rejection = { errorCode: outcome.refused, errorMsg: "", accepted: [], notSent: [] };
      this.sagaQueue.push(
        ...(command!.onRejected?.({ ...rejection, refused: { command: command!, commandId: "c" } }) ?? []),
      );
    }
  }

  settle(): void {
    for (let guard = 0; this.sagaQueue.length > 0; guard++) {
      if (guard > 1_000) throw new Error("the transfer saga does not settle");
      this.runSaga(0);
    }
  }

  private react(aggregateId: string, event: AccountEvent): readonly SagaCommand[] {
    if (!TransferSaga.eventTypes.includes(event.type)) return [];
    // The transfer saga looks nothing up: an empty context (a lookup would throw).
    const lookups = {} as SagaContext;
    return TransferSaga.react(
      { ...event, aggregateId } as unknown as RecordedEvent<AccountEvent>,
      lookups,
    ) as SagaCommand[];
  }

  private count(event: AccountEvent): void {
    if (event.type === "AccountCreated") this.external += event.data.initialBalance;
    if (event.type === "MoneyDeposited") this.external += event.data.amount;
    if (event.type === "MoneyWithdrawn") this.external -= event.data.amount;
    if (event.type === "TransferReceived") this.inFlight += event.data.amount;
    if (event.type === "TransferConfirmed") this.inFlight -= event.data.amount;
  }

  totalBalance(): number {
    return [...this.states.values()].reduce((sum, s) => sum + s.balance, 0);
  }
}

function expectSound(state: AccountState): void {
  const pending = Object.values(state.pending);
  for (const value of [state.balance, state.locked, ...pending]) expect(Number.isSafeInteger(value)).toBe(true);
  expect(state.balance).toBeGreaterThanOrEqual(0);
  expect(state.balance).toBeLessThanOrEqual(MAX_BALANCE);
  expect(state.locked).toBeGreaterThanOrEqual(0);
  expect(state.balance - state.locked).toBeGreaterThanOrEqual(0);
  expect(state.locked).toBe(pending.reduce((sum, n) => sum + n, 0));
  for (const amount of pending) expect(amount).toBeGreaterThan(0);
}

const stored = (events: readonly AccountEvent[]) =>
  events.map((e) => ({ type: e.type, data: JSON.parse(JSON.stringify(e.data)) as unknown, schemaVersion: 1 }));

function run(bank: Bank, script: readonly Step[], after: (bank: Bank) => void): void {
  for (const step of script) {
    if ("send" in step) bank.send(step.send);
    else bank.runSaga(step.saga);
    after(bank);
  }
}

describe("Account and TransferSaga, property-based", () => {
  it("no state is ever unsound, whatever clients send (the saga's commands included)", () => {
    fc.assert(
      fc.property(steps(fc.oneof(clientCommand, sagaCommandByHand)), (script) => {
        const bank = new Bank();
        for (const step of script) {
          if ("saga" in step) bank.runSaga(step.saga);
          else {
            const before = bank.stateOf(step.send.accountId);
            const outcome = bank.send(step.send);
            // A refusal names a real reason: TRANSFER_EXISTS only for a transfer really pending.
            if ("refused" in outcome && outcome.refused === "TRANSFER_EXISTS") {
              expect(Object.hasOwn(before.pending, String(step.send.input.transferId))).toBe(true);
            }
          }
          for (const state of bank.states.values()) expectSound(state);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("transfers conserve money: balances = deposits − withdrawals (+ credits awaiting confirmation); settled, exactly", () => {
    fc.assert(
      fc.property(steps(clientCommand), (script) => {
        const bank = new Bank();
        run(bank, script, (b) => {
          expect(b.totalBalance()).toBe(b.external + b.inFlight);
        });
        bank.settle();
        expect(bank.inFlight).toBe(0);
        expect(bank.totalBalance()).toBe(bank.external);
        for (const state of bank.states.values()) {
          expect(state.locked).toBe(0);
          expect(state.pending).toEqual({});
        }
      }),
      { numRuns: 500 },
    );
  });

  it("every log replays to the same state: whole, through JSON, and from a JSON snapshot at any version", () => {
    fc.assert(
      fc.property(steps(fc.oneof(clientCommand, sagaCommandByHand)), fc.nat(), (script, cut) => {
        const bank = new Bank();
        run(bank, script, () => {});
        bank.settle();
        for (const [id, log] of bank.logs) {
          const state = bank.stateOf(id);
          expect(replay(Account, stored(log))).toEqual(state);
          const at = log.length === 0 ? 0 : cut % (log.length + 1);
          const snapshot = JSON.parse(JSON.stringify(replay(Account, stored(log.slice(0, at))))) as AccountState;
          expect(replay(Account, stored(log.slice(at)), snapshot)).toEqual(state);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("the model itself notices a broken invariant (it is not vacuous)", () => {
    const bank = new Bank();
    bank.send({ accountId: "acc-a", type: "CreateAccount", input: { name: "Ada", initialBalance: 10 } });
    bank.send({
      accountId: "acc-a",
      type: "PrepareTransfer",
      input: { transferId: "t1", targetAccountId: "acc-b", amount: 4 },
    });
    expect(bank.sagaQueue.map((c) => c.type)).toEqual(["ReceiveTransfer"]);
    bank.settle(); // acc-b does not exist: the saga unlocks
    expect(bank.stateOf("acc-a")).toMatchObject({ balance: 10, locked: 0, pending: {} });
    expect(() => expectSound({ ...bank.stateOf("acc-a"), locked: 11 })).toThrow();
    expect(() => expectSound({ ...bank.stateOf("acc-a"), locked: 3 })).toThrow();
  });
});
