/**
 * What a client learns when a processor fails, on both engines: a stable code and a safe
 * message, never the error itself (Prisma's invocation text with source paths and code in
 * development, its model and constraint names in production). The detail goes to the server
 * log, on one line with the command ID.
 *
 * Catches the runner putting the processor's error message into the failed result's errorMsg.
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { defineContext } from "../../src/core/context.ts";
import { defineProjection } from "../../src/core/processors.ts";
import { banking } from "../../src/domains/banking/index.ts";
import type { Prisma } from "../../src/generated/prisma/client.ts";
import { createRunnerApp, DEPOSIT, RESULT_FIELDS } from "../support/app.ts";
import { engines, useTestDatabase } from "../support/databases.ts";

/** Writes a row that is already there: Prisma throws P2002, naming the model, the field and this file. */
const Clumsy = defineProjection<Prisma.TransactionClient>({
  name: "ClumsyView",
  eventTypes: ["MoneyDeposited"],
  async apply(events, tx) {
    for (const event of events) {
      const row = { key: "clumsy", tenantId: "clumsy", id: event.aggregateId, name: "x", balance: 0 };
      await tx.accountView.create({ data: { ...row, status: "ACTIVE", version: 1, updatedAt: event.createdAt } });
      await tx.accountView.create({ data: { ...row, status: "ACTIVE", version: 1, updatedAt: event.createdAt } });
    }
  },
});

describe.each(engines)("a failed processor's result on %s", (engine) => {
  const db = useTestDatabase(engine);
  let app: App;
  let url: string;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    app = await createRunnerApp(
      db,
      [banking, defineContext({ name: "clumsy", aggregates: [], processors: [Clumsy] })],
      {
        env: "development",
        runner: { maxAttempts: 2 },
        logger: pino({ level: "info" }, sink),
      },
    );
    ({ url } = await app.start());
  });
  afterAll(async () => {
    await app?.stop();
  });

  const graphql = async (query: string, variables: Record<string, unknown>) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data: Record<string, unknown>; errors?: unknown };
  };

  it("clients get PROCESSOR_FAILED and a safe message; the log line has the detail and the command ID", async () => {
    const created = await app.gateway.sendAndWait({
      aggregateName: "Account",
      type: "CreateAccount",
      input: { name: "c", initialBalance: 0 },
      tenantId: "default",
      aggregateId: "clumsy-1",
    });
    expect(created.succeeded).toBe(true);

    const answer = await graphql(DEPOSIT, {
      amount: 5,
      command: { aggregateId: "clumsy-1", waitFor: { stage: "PROJECTED" } },
    });
    expect(answer.errors).toBeUndefined();
    const deposit = answer.data.deposit as { commandId: string; stage: string; errorCode: string; errorMsg: string };
    expect(deposit).toMatchObject({ stage: "PROJECTED", succeeded: false, errorCode: "PROCESSOR_FAILED" });

    const all = await graphql(`query($id: ID!) { commandResults(commandId: $id) { ${RESULT_FIELDS} } }`, {
      id: deposit.commandId,
    });
    const failures = (all.data.commandResults as { succeeded: boolean; errorCode: string; errorMsg: string }[]).filter(
      (r) => !r.succeeded,
    );
    expect(failures.length).toBeGreaterThanOrEqual(2); // the processor's signal and the stage
    for (const failure of [deposit, ...failures]) {
      expect(failure.errorCode).toBe("PROCESSOR_FAILED");
      // Nothing of the error: no Prisma text, model, table or field, no path, no stack, no code.
      expect(failure.errorMsg).not.toMatch(/Unique constraint|accountView|account_views|P2002|`key`/i);
      expect(failure.errorMsg).not.toMatch(/\/|\\|\.ts\b|\bat \w|invocation|=>|\bawait\b/);
      expect(failure.errorMsg).toContain(deposit.commandId);
    }

    // The detail is in the server log, one line, with the command ID.
    const logged = lines.find((l) => l.commandId === deposit.commandId && l.msg === "event parked in dead letters");
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toMatch(/Unique constraint/);
    expect(logged).toMatchObject({ processor: "clumsy.ClumsyView", level: 50 });
  });
});
