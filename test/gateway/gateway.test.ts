/**
 * Gateway behaviour below GraphQL: rewriters, asynchronous commands surviving a restart, and
 * conflicts retried by deciding again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { defineAggregate } from "../../src/core/aggregate.ts";
import { defineContext } from "../../src/core/context.ts";
import { AggregateNotFound } from "../../src/core/errors.ts";
import { banking } from "../../src/domains/banking/index.ts";
import { engines, openTestDatabase, type TestDatabase } from "../support/databases.ts";

const userIdsByEmail = new Map([["ada@example.com", "user-ada"]]);
const User = defineAggregate({
  name: "User",
  eventTypes: ["UserRegistered", "PasswordResetRequested"],
  commands: {
    RegisterUser: { mode: "create", input: z.object({ email: z.string() }) },
    RequestPasswordReset: {
      input: z.object({ email: z.string() }),
      // The rewriter: the client knows an e-mail, the aggregate is keyed by user ID.
      resolveAggregateId: (input) => userIdsByEmail.get(String(input.email)),
    },
  },
  initialState: () => ({ resets: 0 }),
  decide: (command) =>
    command.type === "RegisterUser"
      ? { type: "UserRegistered" as const, data: { email: command.data.email } }
      : { type: "PasswordResetRequested" as const, data: {} },
  evolve: (state: { resets: number }, event: { type: "UserRegistered" | "PasswordResetRequested"; data: unknown }) =>
    event.type === "PasswordResetRequested" ? { resets: state.resets + 1 } : state,
});
const accounts = defineContext({ name: "accounts", aggregates: [User] });

describe.each(engines)("gateway on %s", (engine) => {
  let db: TestDatabase;
  const config = { ...loadConfig({ NODE_ENV: "test" }), port: 0 };
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  it("a rewriter fills the aggregate ID from the input; no match is AGGREGATE_NOT_FOUND with nothing stored", async () => {
    const app = await createApp({ config, database: db, contexts: [banking, accounts] });
    try {
      const base = { aggregateName: "User", tenantId: "t" };
      await app.gateway.sendAndWait({
        ...base,
        type: "RegisterUser",
        input: { email: "ada@example.com" },
        aggregateId: "user-ada",
      });
      const reset = await app.gateway.sendAndWait({
        ...base,
        type: "RequestPasswordReset",
        input: { email: "ada@example.com" },
      });
      expect(reset).toMatchObject({ succeeded: true, aggregateId: "user-ada", aggregateVersion: 2 });

      const before = await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM commands");
      const error = await app.gateway
        .send({ ...base, type: "RequestPasswordReset", input: { email: "nobody@example.com" } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AggregateNotFound);
      expect(await db.sql.query("SELECT count(*)::int AS n FROM commands")).toEqual(before);
    } finally {
      await app.stop();
    }
  });

  it("an asynchronous command stored before a restart is processed after it", async () => {
    const first = await createApp({ config, database: db });
    // Not started: no worker runs, as if the process died right after storing the command.
    const { commandId } = await first.gateway.send({
      aggregateName: "Account",
      type: "CreateAccount",
      input: { name: "Async" },
      tenantId: "t",
      async: true,
    });
    await first.stop();
    const second = await createApp({ config, database: db });
    await second.start();
    try {
      const result = await second.gateway.waitFor("t", commandId, { stage: "PROCESSED", timeoutMs: 10_000 });
      expect(result).toMatchObject({ stage: "PROCESSED", succeeded: true, aggregateVersion: 1 });
    } finally {
      await second.stop();
    }
  });
});
