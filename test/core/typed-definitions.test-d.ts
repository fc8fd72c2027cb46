/**
 * Type tests: events declared as values narrow everywhere they flow — a processor's events by
 * `event.type` and `event.aggregateName`, a saga's commands by the target aggregate's own
 * command names and inputs. Checked by `tsc` (npm run typecheck) and by vitest's typecheck
 * mode (npm test); each `@ts-expect-error` fails the build if the mistake ever compiles.
 */
import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { defineAggregate } from "../../src/core/aggregate.ts";
import type { EventOf } from "../../src/core/events.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import { defineEventHandler, defineProjection, defineSaga, type SagaCommand } from "../../src/core/processors.ts";
import { commandFor } from "../../src/core/saga-commands.ts";
import { type HandledEvent, on } from "../../src/core/subscriptions.ts";
import { Account, type AccountEvent } from "../../src/domains/banking/account.ts";
import type { Order } from "../../src/domains/ordering/order.ts";

const Lamp = defineAggregate({
  name: "Lamp",
  events: {
    Installed: z.object({ watts: z.number() }),
    SwitchedOn: z.object({}),
    Created: z.object({ room: z.string() }),
  },
  commands: { Install: { mode: "create", input: z.object({ watts: z.number().default(40) }) } },
  initialState: () => ({ on: false }),
  decide: () => [{ type: "Installed", data: { watts: 40 } }],
  evolve: (state) => state,
});

/** The parts of a test aggregate that these tests do not look at. */
const aggregateBase = { commands: {}, initialState: () => 0, decide: () => [], evolve: (n: number) => n };

describe("events declared as values", () => {
  it("derive the event union", () => {
    expectTypeOf<EventOf<{ A: z.ZodObject<{ n: z.ZodNumber }> }>>().toEqualTypeOf<{
      type: "A";
      data: { n: number };
      schemaVersion?: number;
    }>();
    expectTypeOf(Account.eventTypes).toEqualTypeOf<readonly AccountEvent["type"][]>();
  });

  it("refuse a decided event that is not declared", () => {
    // @ts-expect-error: the decider returns Hapened, which is not a declared event
    defineAggregate({
      name: "Broken",
      events: { Happened: z.object({ n: z.number() }) },
      commands: {},
      initialState: () => 0,
      decide: () => [{ type: "Hapened", data: { n: 1 } }],
      evolve: (state) => state,
    });
  });

  it("RecordedEvent distributes over the union", () => {
    expectTypeOf<RecordedEvent<AccountEvent>>().toEqualTypeOf<
      | RecordedEvent<Extract<AccountEvent, { type: "AccountCreated" }>>
      | RecordedEvent<Exclude<AccountEvent, { type: "AccountCreated" }>>
    >();
    const narrow = (event: RecordedEvent<AccountEvent>) => {
      if (event.type === "MoneyDeposited") expectTypeOf(event.data).toEqualTypeOf<{ amount: number }>();
    };
    expectTypeOf(narrow).toBeFunction();
  });
});

describe("processors receive what they declare, narrowed", () => {
  it("a projection's events are only the subscribed ones, data narrowed by type", () => {
    defineProjection({
      name: "P",
      handles: [on(Account, "MoneyDeposited", "TransferPrepared")],
      async apply(events, _tx: unknown) {
        for (const event of events) {
          expectTypeOf(event.type).toEqualTypeOf<"MoneyDeposited" | "TransferPrepared">();
          expectTypeOf(event.aggregateName).toEqualTypeOf<"Account">();
          if (event.type === "TransferPrepared") {
            expectTypeOf(event.data).toEqualTypeOf<{ transferId: string; targetAccountId: string; amount: number }>();
          } else {
            expectTypeOf(event.data).toEqualTypeOf<{ amount: number }>();
          }
        }
      },
    });
  });

  it("events of two aggregates narrow by aggregate name, even with the same type name", () => {
    const roomEvents = { Created: z.object({ floor: z.number() }) };
    const Room = defineAggregate({ ...aggregateBase, name: "Room", events: roomEvents });
    defineEventHandler({
      name: "H",
      handles: [on(Lamp, "Created"), on(Room)],
      async handle(event) {
        if (event.aggregateName === "Room") expectTypeOf(event.data).toEqualTypeOf<{ floor: number }>();
        else expectTypeOf(event.data).toEqualTypeOf<{ room: string }>();
      },
    });
  });

  it("on() refuses an event the aggregate does not have", () => {
    // @ts-expect-error: Account has no event MoneyDepostied
    on(Account, "MoneyDepostied");
    // @ts-expect-error: OrderCreated is Order's, not Account's
    on(Account, "OrderCreated");
    expectTypeOf<HandledEvent<ReturnType<typeof on<typeof Order>>>["aggregateName"]>().toEqualTypeOf<"Order">();
  });
});

describe("sagas build commands from the target's definition", () => {
  it("react sees narrowed events and returns typed commands", () => {
    defineSaga({
      name: "S",
      handles: [on(Account, "TransferPrepared")],
      react(event) {
        expectTypeOf(event.data.targetAccountId).toBeString();
        return [
          commandFor(Account, "ReceiveTransfer", {
            aggregateId: event.data.targetAccountId,
            data: { transferId: event.data.transferId, sourceAccountId: event.aggregateId, amount: event.data.amount },
          }),
        ];
      },
    });
  });

  it("a typo in the command type or its data fails at compile time", () => {
    // @ts-expect-error: no command RecieveTransfer on Account
    commandFor(Account, "RecieveTransfer", { aggregateId: "a", data: {} });
    // @ts-expect-error: Deposit takes { amount }, not { amout }
    commandFor(Account, "Deposit", { aggregateId: "a", data: { amout: 5 } });
    // @ts-expect-error: Deposit's amount is a number
    commandFor(Account, "Deposit", { aggregateId: "a", data: { amount: "5" } });
    // Defaults may be left out: the gateway applies them.
    expectTypeOf(commandFor(Lamp, "Install", { aggregateId: "l", data: {} })).toEqualTypeOf<SagaCommand>();
  });
});
