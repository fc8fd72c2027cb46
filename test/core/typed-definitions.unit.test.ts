/**
 * Typed definitions at run time: what derives from an event declaration (types, version stamps,
 * validation, upcasting older versions and older names) and how typed processors keep only the
 * (aggregate, event) pairs they declared.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineAggregate, replay } from "../../src/core/aggregate.ts";
import { upcaster, versioned } from "../../src/core/events.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import type { SagaContext } from "../../src/core/processors.ts";
import { defineProjection, defineSaga } from "../../src/core/processors.ts";
import { commandFor } from "../../src/core/saga-commands.ts";
import { on } from "../../src/core/subscriptions.ts";

const Counter = defineAggregate({
  name: "Counter",
  events: {
    // v1 stored { by }, v2 { amount }; and the event was once called "Incremented".
    Added: versioned(z.object({ amount: z.number().int().positive() }), {
      version: 2,
      upcasters: { 1: upcaster(z.object({ by: z.number() }), ({ by }) => ({ amount: by })) },
      renamedFrom: ["Incremented"],
    }),
    Reset: z.object({}),
  },
  validateEvents: true,
  commands: { Add: { input: z.object({ amount: z.number().int() }) }, Reset: { input: z.object({}) } },
  initialState: () => 0,
  decide: (command) =>
    command.type === "Add" ? [{ type: "Added", data: { amount: command.data.amount } }] : [{ type: "Reset", data: {} }],
  evolve: (total, event) => (event.type === "Added" ? total + event.data.amount : 0),
});

const metadata = { commandId: "c", tenantId: "t", aggregateId: "a", header: {}, createdAt: new Date(0) };

const recorded = (aggregateName: string, type: string, data: unknown = {}): RecordedEvent => ({
  tenantId: "t",
  aggregateName,
  aggregateId: "a",
  commandId: "c",
  requestId: "r",
  correlationId: "c",
  causationId: "c",
  position: 1n,
  transactionId: 1n,
  version: 1,
  type,
  schemaVersion: 1,
  data,
  createdAt: new Date(0),
});

describe("an event declaration", () => {
  it("gives the aggregate its event types", () => {
    expect(Counter.eventTypes).toEqual(["Added", "Reset"]);
  });

  it("stamps the current schema version on decided events", () => {
    const events = Counter.decide({ type: "Add", data: { amount: 2 }, metadata }, 0);
    expect(events).toEqual([{ type: "Added", data: { amount: 2 }, schemaVersion: 2 }]);
  });

  it("with validateEvents, refuses a decided event that breaks its schema (EVENT_INVALID)", () => {
    expect(() => Counter.decide({ type: "Add", data: { amount: -1 }, metadata }, 0)).toThrow(
      expect.objectContaining({ code: "EVENT_INVALID" }),
    );
  });

  it("reads older versions and older names as the current event", () => {
    const total = replay(Counter, [
      { type: "Added", schemaVersion: 1, data: { by: 3 } },
      { type: "Incremented", schemaVersion: 1, data: { by: 4 } },
      { type: "Added", schemaVersion: 2, data: { amount: 5 } },
    ]);
    expect(total).toBe(12);
    expect(Counter.upcast?.({ type: "Incremented", schemaVersion: 1, data: { by: 4 } })).toEqual({
      type: "Added",
      schemaVersion: 2,
      data: { amount: 4 },
    });
  });

  it("checks an older version's data with its own schema", () => {
    expect(() => Counter.upcast?.({ type: "Added", schemaVersion: 1, data: { amount: 3 } })).toThrow();
  });

  it("passes current events through without upcasting when nothing has a history", () => {
    const Plain = defineAggregate({
      name: "Plain",
      events: { Happened: z.object({}) },
      commands: {},
      initialState: () => 0,
      decide: () => [],
      evolve: (n) => n + 1,
    });
    expect(Plain.upcast).toBeUndefined();
  });
});

describe("typed processors", () => {
  const Room = defineAggregate({
    name: "Room",
    events: { Added: z.object({ floor: z.number() }) },
    commands: {},
    initialState: () => 0,
    decide: () => [],
    evolve: (n) => n,
  });

  it("route by type name but receive only their own (aggregate, event) pairs", async () => {
    const seen: string[] = [];
    const projection = defineProjection({
      name: "RoomsOnly",
      handles: [on(Room, "Added")],
      async apply(events, _tx: unknown) {
        for (const event of events) seen.push(`${event.aggregateName}:${event.data.floor}`);
      },
    });
    expect(projection.eventTypes).toEqual(["Added"]);
    await projection.apply([recorded("Counter", "Added", { amount: 1 }), recorded("Room", "Added", { floor: 3 })], {});
    expect(seen).toEqual(["Room:3"]);
  });

  it("a saga reacts only to its own events, with commands aimed by the target's definition", async () => {
    const saga = defineSaga({
      name: "ResetOnRoom",
      handles: [on(Room)],
      react: () => [commandFor(Counter, "Reset", { aggregateId: "c1", data: {} })],
    });
    // This saga looks nothing up: an empty context (a lookup would throw).
    const context = {} as SagaContext;
    expect(await saga.react(recorded("Counter", "Added"), context)).toEqual([]);
    expect(await saga.react(recorded("Room", "Added", { floor: 1 }), context)).toEqual([
      { aggregateName: "Counter", type: "Reset", aggregateId: "c1", data: {} },
    ]);
  });

  it("on() refuses an event an untyped aggregate does not declare", () => {
    expect(() => on(Room, "Missing" as never)).toThrow("Room has no event Missing");
  });
});
