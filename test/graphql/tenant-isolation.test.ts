/**
 * Another tenant's commands do not exist for a caller: every way to look a command up by its ID
 * — `Query.commandResults`, the `commandResults` subscription over graphql-ws and over SSE, and
 * a read that waits for a command (`afterCommand`, the gateway's waitFor) — answers
 * COMMAND_NOT_FOUND for a command ID of another tenant, exactly as for an ID that was never
 * issued, and gives away none of its results. The owner's own lookups work, so the ID is real.
 *
 * Catches (verified by removing it): the tenant comparison in the gateway's command lookup,
 * `command.tenantId !== tenantId` in CommandGateway.command (src/gateway/gateway.ts).
 */
import { createClient as createSseClient } from "graphql-sse";
import { createClient as createWsClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { COMMAND_RESULTS, CREATE_ACCOUNT, type ResultView, startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

interface FormattedError {
  message: string;
  extensions?: Record<string, unknown>;
}

interface Outcome {
  data: unknown[];
  codes: unknown[];
}

const OWNER = "tenant-a";
const OTHER = "tenant-b";
const RESULTS_SO_FAR = "query Results($id: ID!) { commandResults(commandId: $id) { commandId stage } }";
const READ_AFTER = "query ReadAfter($id: ID!, $after: ID!) { account(id: $id, afterCommand: $after) { id balance } }";

const codesOf = (errors: readonly FormattedError[] | undefined) => (errors ?? []).map((e) => e.extensions?.code);

describe.each(engines)("command lookups stay inside their tenant, on %s", (engine) => {
  let testApp: TestApp;
  let owned: ResultView;

  const post = (tenantId: string, query: string, variables: Record<string, unknown>) =>
    testApp.post({ query, variables }, { "x-tenant-id": tenantId });

  /** The subscription over graphql-ws, the tenant in connectionParams; errors as `next` payloads or `error`. */
  async function subscribeOverWs(tenantId: string, commandId: string): Promise<Outcome> {
    const client = createWsClient({
      url: testApp.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { tenantId },
    });
    try {
      return await new Promise<Outcome>((resolve) => {
        const outcome: Outcome = { data: [], codes: [] };
        client.subscribe(
          { query: COMMAND_RESULTS, variables: { id: commandId } },
          {
            next: (result) => {
              if (result.data) outcome.data.push(result.data);
              outcome.codes.push(...codesOf(result.errors as FormattedError[] | undefined));
            },
            error: (error) => {
              outcome.codes.push(...(Array.isArray(error) ? codesOf(error as FormattedError[]) : ["TRANSPORT"]));
              resolve(outcome);
            },
            complete: () => resolve(outcome),
          },
        );
      });
    } finally {
      await client.dispose();
    }
  }

  /** The subscription over SSE (Yoga's distinct-connections mode), the tenant in the header. */
  async function subscribeOverSse(tenantId: string, commandId: string): Promise<Outcome> {
    const client = createSseClient({
      url: testApp.url,
      singleConnection: false,
      retryAttempts: 0,
      headers: { "x-tenant-id": tenantId },
    });
    const outcome: Outcome = { data: [], codes: [] };
    try {
      for await (const result of client.iterate({ query: COMMAND_RESULTS, variables: { id: commandId } })) {
        if (result.data) outcome.data.push(result.data);
        outcome.codes.push(...codesOf(result.errors as unknown as FormattedError[] | undefined));
      }
    } catch (error) {
      if (!Array.isArray(error)) throw error;
      outcome.codes.push(...codesOf(error as FormattedError[]));
    } finally {
      client.dispose();
    }
    return outcome;
  }

  beforeAll(async () => {
    testApp = await startTestApp(engine);
    const { json } = await post(OWNER, CREATE_ACCOUNT, {
      name: "Ada",
      initialBalance: 500,
      command: { aggregateId: "ada", waitFor: { stage: "PROJECTED" } },
    });
    owned = json.data?.createAccount as ResultView;
    expect(owned).toMatchObject({ stage: "PROJECTED", succeeded: true, aggregateId: "ada" });
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  it("Query.commandResults: the owner gets the results, another tenant COMMAND_NOT_FOUND", async () => {
    const mine = await post(OWNER, RESULTS_SO_FAR, { id: owned.commandId });
    expect(mine.json.errors).toBeUndefined();
    expect((mine.json.data!.commandResults as { stage: string }[]).map((r) => r.stage)).toContain("PROCESSED");

    for (const tenantId of [OTHER, "default"]) {
      const theirs = await post(tenantId, RESULTS_SO_FAR, { id: owned.commandId });
      expect(theirs.json.data ?? null).toBeNull();
      expect(codesOf(theirs.json.errors)).toEqual(["COMMAND_NOT_FOUND"]);
    }
  });

  it("a read after a command (the gateway's waitFor): the owner reads, another tenant gets COMMAND_NOT_FOUND", async () => {
    const mine = await post(OWNER, READ_AFTER, { id: "ada", after: owned.commandId });
    expect(mine.json).toEqual({ data: { account: { id: "ada", balance: 500 } } });

    // Its own account of the same ID does not make another tenant's command its own.
    const created = await post(OTHER, CREATE_ACCOUNT, {
      name: "Other Ada",
      command: { aggregateId: "ada", waitFor: { stage: "PROCESSED" } },
    });
    expect(created.json.data?.createAccount).toMatchObject({ succeeded: true });
    const theirs = await post(OTHER, READ_AFTER, { id: "ada", after: owned.commandId });
    expect(theirs.json.data?.account ?? null).toBeNull();
    expect(codesOf(theirs.json.errors)).toEqual(["COMMAND_NOT_FOUND"]);
  });

  it.each([
    ["graphql-ws", subscribeOverWs],
    ["SSE", subscribeOverSse],
  ])(
    "the commandResults subscription over %s: the owner follows it, another tenant gets COMMAND_NOT_FOUND",
    async (_transport, subscribe) => {
      const mine = await subscribe(OWNER, owned.commandId);
      expect(mine.codes).toEqual([]);
      expect(mine.data.length).toBeGreaterThan(0);

      const theirs = await subscribe(OTHER, owned.commandId);
      expect(theirs).toEqual({ data: [], codes: ["COMMAND_NOT_FOUND"] });
    },
  );
});
