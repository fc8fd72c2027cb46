/**
 * Create-or-update commands (`mode: "upsert"`): the same command creates the aggregate when it
 * is new and changes it when it exists, through the real gateway on both engines; it needs the
 * aggregate ID (there is nothing to generate it from).
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineAggregate } from "../../src/core/aggregate.ts";
import { defineContext } from "../../src/core/context.ts";
import { ValidationFailed } from "../../src/core/errors.ts";
import { spec } from "../../src/testing/decider-spec.ts";
import { startTestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

const Setting = defineAggregate({
  name: "Setting",
  events: { SettingChanged: z.object({ value: z.string(), previous: z.string().nullable() }) },
  commands: { ChangeSetting: { mode: "upsert", input: z.object({ value: z.string() }) } },
  initialState: (): { value: string | null } => ({ value: null }),
  decide: (command, state) => [{ type: "SettingChanged", data: { value: command.data.value, previous: state.value } }],
  evolve: (_state, event) => ({ value: event.data.value }),
});
const settings = defineContext({ name: "settings", aggregates: [Setting] });

describe("upsert decider", () => {
  it("spec() returns the produced events, to chain into the next given", () => {
    const first = spec(Setting).given([]).when("ChangeSetting", { value: "dark" }).events;
    expect(first).toEqual([{ type: "SettingChanged", data: { value: "dark", previous: null } }]);
    spec(Setting)
      .given(first)
      .when("ChangeSetting", { value: "light" })
      .thenEvents([{ type: "SettingChanged", data: { value: "light", previous: "dark" } }]);
  });
});

describe.each(engines)("create-or-update commands on %s", (engine) => {
  it("creates the aggregate when new, updates it when it exists, and needs its ID", async () => {
    const { app, stop } = await startTestApp(engine, {}, [settings], { workers: false });
    try {
      const send = (value: string) =>
        app.gateway.sendAndWait({
          aggregateName: "Setting",
          type: "ChangeSetting",
          tenantId: "t",
          aggregateId: "theme",
          input: { value },
        });
      expect(await send("dark")).toMatchObject({ succeeded: true, aggregateVersion: 1 });
      expect(await send("light")).toMatchObject({ succeeded: true, aggregateVersion: 2 });
      const stream = { tenantId: "t", aggregateName: "Setting", aggregateId: "theme" };
      expect((await app.aggregates.load(Setting, stream)).state).toEqual({ value: "light" });

      const error = await app.gateway
        .send({ aggregateName: "Setting", type: "ChangeSetting", tenantId: "t", input: { value: "x" } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationFailed);
    } finally {
      await stop();
    }
  });
});
