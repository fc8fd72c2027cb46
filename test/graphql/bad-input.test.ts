/**
 * Bad input through GraphQL: every mistake gets a clear error with a stable `extensions.code`,
 * and nothing is stored for it. Also the answers that are results rather than errors (refused,
 * conflicting, timed out), and idempotent sends.
 */
import { randomUUID } from "node:crypto";
import { createClient as createSseClient } from "graphql-sse";
import type { Client as WsClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import type { ResultBus } from "../../src/gateway/result-bus.ts";
import {
  COMMAND_RESULTS,
  CREATE_ACCOUNT,
  DEPOSIT,
  eventsOf,
  expectNothingStoredByEachTest,
  type GraphQLResponse,
  type ResultView,
  startTestApp,
  storedCounts,
  type TestApp,
  useTestApp,
  wsClientOf,
} from "../support/app.ts";
import { engines } from "../support/databases.ts";

interface FormattedError {
  message: string;
  extensions?: Record<string, unknown>;
}

const codesOf = (errors: readonly FormattedError[] | undefined) => (errors ?? []).map((e) => e.extensions?.code);
const bindingFields = (json: GraphQLResponse) =>
  ((json.errors?.[0]?.extensions?.bindingErrors ?? []) as { field: string }[]).map((e) => e.field);

/** Runs one operation on a graphql-ws client; errors come either as `next` payloads or as `error`. */
function runOnWs(client: WsClient, query: string, variables: Record<string, unknown> = {}) {
  return new Promise<{ data: unknown[]; errors: FormattedError[] }>((resolve) => {
    const data: unknown[] = [];
    const errors: FormattedError[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (result) => {
          if (result.data) data.push(result.data);
          if (result.errors) errors.push(...result.errors);
        },
        error: (error) => {
          if (Array.isArray(error)) errors.push(...(error as FormattedError[]));
          else errors.push({ message: String((error as Error)?.message ?? error), extensions: { code: "TRANSPORT" } });
          resolve({ data, errors });
        },
        complete: () => resolve({ data, errors }),
      },
    );
  });
}

describe.each(engines)("bad input over GraphQL on %s", (engine) => {
  const testApp = useTestApp(engine);
  let accountId: string;

  const send = (query: string, variables: Record<string, unknown> = {}) => testApp.post({ query, variables });
  const resultOf = (json: GraphQLResponse, field: string) => json.data?.[field] as ResultView;

  beforeAll(async () => {
    const { json } = await send(CREATE_ACCOUNT, {
      name: "Ada",
      initialBalance: 1_000,
      command: { waitFor: { stage: "PROCESSED" } },
    });
    accountId = resultOf(json, "createAccount").aggregateId;
    expect(resultOf(json, "createAccount")).toMatchObject({ stage: "PROCESSED", succeeded: true });
  });

  describe("refused before anything is stored", () => {
    const nothingStored = expectNothingStoredByEachTest(testApp);

    it("malformed JSON body: 400 BAD_REQUEST", async () => {
      const { status, json } = await testApp.post(
        '{"query": "mutation { createAccount(input: {name: \\"x\\"}) { id } }"',
      );
      expect(status).toBe(400);
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json.errors)).toEqual(["BAD_REQUEST"]);
      expect(json.errors![0]!.message).toMatch(/JSON/i);
    });

    it("GraphQL syntax error: GRAPHQL_PARSE_FAILED", async () => {
      const { json } = await send("mutation { createAccount(input: { name: ");
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json.errors)).toEqual(["GRAPHQL_PARSE_FAILED"]);
      expect(json.errors![0]!.message).toMatch(/Syntax Error/);
    });

    it("a literal of the wrong type: GRAPHQL_VALIDATION_FAILED", async () => {
      const { json } = await send(
        `mutation { deposit(input: { amount: "ten" }, command: { aggregateId: "${accountId}" }) { id } }`,
      );
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json.errors)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      expect(json.errors![0]!.message).toMatch(/Int/);
    });

    it("a variable of the wrong type: BAD_USER_INPUT", async () => {
      const { json } = await send(DEPOSIT, { amount: "ten", command: { aggregateId: accountId } });
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json.errors)).toEqual(["BAD_USER_INPUT"]);
      expect(json.errors![0]!.message).toMatch(/\$amount/);
    });

    it("a non-integer amount in a variable: BAD_USER_INPUT", async () => {
      const { json } = await send(DEPOSIT, { amount: 1.5, command: { aggregateId: accountId } });
      expect(codesOf(json.errors)).toEqual(["BAD_USER_INPUT"]);
    });

    it("a missing required input field: GRAPHQL_VALIDATION_FAILED (literal) and BAD_USER_INPUT (variable)", async () => {
      const literal = await send("mutation { createAccount(input: { initialBalance: 5 }) { id } }");
      expect(codesOf(literal.json.errors)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      expect(literal.json.errors![0]!.message).toMatch(/name/);

      const noInput = await send('mutation { deposit(command: { aggregateId: "x" }) { id } }');
      expect(codesOf(noInput.json.errors)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      expect(noInput.json.errors![0]!.message).toMatch(/input/);

      const variable = await send(CREATE_ACCOUNT, { initialBalance: 5 });
      expect(codesOf(variable.json.errors)).toEqual(["BAD_USER_INPUT"]);
      expect(variable.json.errors![0]!.message).toMatch(/\$name/);
    });

    it("a negative amount: VALIDATION_FAILED naming input.amount", async () => {
      const { json } = await send(DEPOSIT, { amount: -5, command: { aggregateId: accountId } });
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json.errors)).toEqual(["VALIDATION_FAILED"]);
      const bindingErrors = json.errors![0]!.extensions!.bindingErrors as { field: string }[];
      expect(bindingErrors.map((e) => e.field)).toEqual(["input.amount"]);
    });

    it("a blank name: VALIDATION_FAILED naming input.name", async () => {
      const { json } = await send(CREATE_ACCOUNT, { name: "   " });
      expect(codesOf(json.errors)).toEqual(["VALIDATION_FAILED"]);
      const bindingErrors = json.errors![0]!.extensions!.bindingErrors as { field: string }[];
      expect(bindingErrors.map((e) => e.field)).toEqual(["input.name"]);
    });

    it("an update command without command.aggregateId: VALIDATION_FAILED naming command.aggregateId", async () => {
      const { json } = await send(DEPOSIT, { amount: 5 });
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json.errors)).toEqual(["VALIDATION_FAILED"]);
      const bindingErrors = json.errors![0]!.extensions!.bindingErrors as { field: string }[];
      expect(bindingErrors.map((e) => e.field)).toEqual(["command.aggregateId"]);
    });

    it("a wait timeout out of range: VALIDATION_FAILED naming waitFor.timeoutMs", async () => {
      const { json } = await send(DEPOSIT, {
        amount: 5,
        command: { aggregateId: accountId, waitFor: { stage: "PROCESSED", timeoutMs: 0 } },
      });
      expect(codesOf(json.errors)).toEqual(["VALIDATION_FAILED"]);
      const bindingErrors = json.errors![0]!.extensions!.bindingErrors as { field: string }[];
      expect(bindingErrors.map((e) => e.field)).toEqual(["waitFor.timeoutMs"]);
    });

    it("a 2 MB body: 413 PAYLOAD_TOO_LARGE", async () => {
      const name = "x".repeat(2 * 1024 * 1024);
      const { status, json } = await send(CREATE_ACCOUNT, { name });
      expect(status).toBe(413);
      expect(codesOf(json.errors)).toEqual(["PAYLOAD_TOO_LARGE"]);
    });

    it("not a GraphQL request: 415 for another content type, 400 for a batch, BAD_REQUEST without a query", async () => {
      const plain = await fetch(testApp.url, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "mutation { unfreezeAccount { id } }",
      });
      expect(plain.status).toBe(415);

      const batch = await testApp.post([{ query: "{ __typename }" }]);
      expect(batch.status).toBe(400);
      expect(codesOf(batch.json.errors)).toEqual(["BAD_REQUEST"]);
      expect(batch.json.errors![0]!.message).toMatch(/Batching/);

      const noQuery = await testApp.post({ variables: {} });
      expect(codesOf(noQuery.json.errors)).toEqual(["BAD_REQUEST"]);

      const notAString = await testApp.post({ query: 5 });
      expect(notAString.status).toBe(400);
      expect(codesOf(notAString.json.errors)).toEqual(["BAD_REQUEST"]);

      const badVariables = await testApp.post({ query: "{ __typename }", variables: "x" });
      expect(badVariables.status).toBe(400);
      expect(codesOf(badVariables.json.errors)).toEqual(["BAD_REQUEST"]);
    });

    it("a mutation over GET: 405 BAD_REQUEST", async () => {
      const query = encodeURIComponent('mutation { createAccount(input: { name: "get" }) { id } }');
      const response = await fetch(`${testApp.url}?query=${query}`);
      expect(response.status).toBe(405);
      const json = (await response.json()) as GraphQLResponse;
      expect(codesOf(json.errors)).toEqual(["BAD_REQUEST"]);
    });

    it("an unknown operation name, or two operations and none named: 400 OPERATION_RESOLUTION_FAILURE", async () => {
      const unknown = await testApp.post({ query: "mutation A { unfreezeAccount { id } }", operationName: "B" });
      expect(unknown.status).toBe(400);
      expect(codesOf(unknown.json.errors)).toEqual(["OPERATION_RESOLUTION_FAILURE"]);
      const unnamed = await send("mutation A { unfreezeAccount { id } } mutation B { unfreezeAccount { id } }");
      expect(codesOf(unnamed.json.errors)).toEqual(["OPERATION_RESOLUTION_FAILURE"]);
    });

    it("an unknown input field: GRAPHQL_VALIDATION_FAILED (literal), 400 BAD_USER_INPUT (variable)", async () => {
      const literal = await send('mutation { createAccount(input: { name: "x", owner: "y" }) { id } }');
      expect(literal.status).toBe(200);
      expect(codesOf(literal.json.errors)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      expect(literal.json.errors![0]!.message).toMatch(/"owner" is not defined/);

      const variable = await send("mutation C($i: CreateAccountInput!) { createAccount(input: $i) { id } }", {
        i: { name: "x", owner: "y" },
      });
      expect(variable.status).toBe(400);
      expect(codesOf(variable.json.errors)).toEqual(["BAD_USER_INPUT"]);
    });

    it("an Int past 32 bits: GRAPHQL_VALIDATION_FAILED (literal), BAD_USER_INPUT (variable)", async () => {
      const literal = await send(
        `mutation { deposit(input: { amount: 3000000000 }, command: { aggregateId: "${accountId}" }) { id } }`,
      );
      expect(codesOf(literal.json.errors)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      expect(literal.json.errors![0]!.message).toMatch(/32-bit/);
      const variable = await send(DEPOSIT, { amount: 3_000_000_000, command: { aggregateId: accountId } });
      expect(codesOf(variable.json.errors)).toEqual(["BAD_USER_INPUT"]);
    });

    it("strings past their limits: VALIDATION_FAILED naming input.name and command.requestId", async () => {
      const longName = await send(CREATE_ACCOUNT, { name: "n".repeat(201) });
      expect(codesOf(longName.json.errors)).toEqual(["VALIDATION_FAILED"]);
      expect((longName.json.errors![0]!.extensions!.bindingErrors as { field: string }[])[0]!.field).toBe("input.name");

      const longKey = await send(CREATE_ACCOUNT, { name: "ok", command: { requestId: "r".repeat(201) } });
      expect(codesOf(longKey.json.errors)).toEqual(["VALIDATION_FAILED"]);
      expect((longKey.json.errors![0]!.extensions!.bindingErrors as { field: string }[])[0]!.field).toBe(
        "command.requestId",
      );
    });

    it("a negative expectedVersion: VALIDATION_FAILED naming command.expectedVersion", async () => {
      const { json } = await send(DEPOSIT, { amount: 1, command: { aggregateId: accountId, expectedVersion: -1 } });
      expect(codesOf(json.errors)).toEqual(["VALIDATION_FAILED"]);
      const bindingErrors = json.errors![0]!.extensions!.bindingErrors as { field: string }[];
      expect(bindingErrors.map((e) => e.field)).toEqual(["command.expectedVersion"]);
    });

    it("a malformed x-tenant-id header: 400 INVALID_TENANT", async () => {
      const { status, json } = await testApp.post(
        { query: 'mutation { createAccount(input: { name: "t" }) { id } }' },
        { "x-tenant-id": "no spaces allowed" },
      );
      expect(status).toBe(400);
      expect(codesOf(json.errors)).toEqual(["INVALID_TENANT"]);
      expect(json.errors![0]!.message).toMatch(/x-tenant-id/);
    });

    it("a cursor that is not one: INVALID_CURSOR; a negative page size: BAD_USER_INPUT", async () => {
      const cursor = await send('{ accounts(after: "not-a-cursor") { edges { cursor } } }');
      expect(cursor.json.data ?? null).toBeNull();
      expect(codesOf(cursor.json.errors)).toEqual(["INVALID_CURSOR"]);
      expect(cursor.json.errors![0]!.message).toMatch(/not one this field handed out/);

      const negative = await send("{ accounts(first: -1) { edges { cursor } } }");
      expect(codesOf(negative.json.errors)).toEqual(["BAD_USER_INPUT"]);
    });

    it("unknown IDs in queries: null for a read model or a state, COMMAND_NOT_FOUND for results", async () => {
      const { json } = await send(
        '{ account(id: "no-such") { id } accountState(id: "no-such") { id } transfer(id: "no-such") { id } }',
      );
      expect(json).toEqual({ data: { account: null, accountState: null, transfer: null } });

      const results = await send("query R($id: ID!) { commandResults(commandId: $id) { id } }", { id: randomUUID() });
      expect(codesOf(results.json.errors)).toEqual(["COMMAND_NOT_FOUND"]);

      const after = await send('query A($c: ID!) { account(id: "x", afterCommand: $c) { id } }', {
        c: randomUUID(),
      });
      expect(codesOf(after.json.errors)).toEqual(["COMMAND_NOT_FOUND"]);
      expect(after.json.errors![0]!.message).toMatch(/No command/);
    });

    it("a log position that is not a token: INVALID_POSITION", async () => {
      // Raw positions are global (issue 13): minPosition takes only a token this tenant was handed.
      for (const raw of ["abc", "12", "99999999999999999999999"]) {
        const { json } = await send(`{ account(id: "x", minPosition: "${raw}") { id } }`);
        expect(codesOf(json.errors)).toEqual(["INVALID_POSITION"]);
      }
    });

    // The next five catch the removal of guardArguments (src/graphql/input-guard.ts) or of the
    // version bound in src/core/cursor.ts: each value then reaches SQL and fails there
    // (INTERNAL_SERVER_ERROR), or a lone surrogate is stored.
    it("a NUL byte in a name, an ID or search text: VALIDATION_FAILED (mutation), BAD_USER_INPUT (query)", async () => {
      const name = await send(CREATE_ACCOUNT, { name: "a\u0000b" });
      expect(codesOf(name.json.errors)).toEqual(["VALIDATION_FAILED"]);
      expect(bindingFields(name.json)).toEqual(["input.name"]);

      const id = await send(CREATE_ACCOUNT, { name: "ok", command: { aggregateId: "a\u0000b", requestId: "r\u0000" } });
      expect(codesOf(id.json.errors)).toEqual(["VALIDATION_FAILED"]);
      expect(bindingFields(id.json)).toEqual(["command.aggregateId", "command.requestId"]);

      // Written into the document itself rather than a variable: the same answer.
      const literal = await send('mutation { createAccount(input: { name: "a\\u0000b" }) { id } }');
      expect(codesOf(literal.json.errors)).toEqual(["VALIDATION_FAILED"]);

      const read = await send("query Q($id: ID!) { account(id: $id) { id } }", { id: "a\u0000b" });
      expect(codesOf(read.json.errors)).toEqual(["BAD_USER_INPUT"]);
      expect(read.json.errors![0]!.message).toMatch(/Argument id .*NUL/);

      const search = await send("query Q($t: String!) { searchOrders(text: $t) { edges { cursor } } }", {
        t: "ada\u0000",
      });
      expect(codesOf(search.json.errors)).toEqual(["BAD_USER_INPUT"]);
      expect(search.json.errors![0]!.message).toMatch(/Argument text/);
    });

    it("a lone surrogate in a name: VALIDATION_FAILED, never stored as U+FFFD, a second send answered the same", async () => {
      for (const aggregateId of ["surrogate-1", "surrogate-2"]) {
        const { json } = await send(CREATE_ACCOUNT, {
          name: "Ada \ud800",
          command: { aggregateId, waitFor: { stage: "PROCESSED" } },
        });
        expect(codesOf(json.errors)).toEqual(["VALIDATION_FAILED"]);
        expect(bindingFields(json)).toEqual(["input.name"]);
        expect(json.errors![0]!.message).toMatch(/unpaired surrogate/);
        expect(await eventsOf(testApp, aggregateId)).toEqual([]);
      }
      const lowAlone = await send("query Q($id: ID!) { accountState(id: $id) { id } }", { id: "\udc00x" });
      expect(codesOf(lowAlone.json.errors)).toEqual(["BAD_USER_INPUT"]);
      // A well-formed pair (an emoji) is fine.
      const pair = await send("query Q($id: ID!) { accountState(id: $id) { id } }", { id: "\ud83d\ude00" });
      expect(pair.json).toEqual({ data: { accountState: null } });
    });

    it("a history cursor past the largest version (v1:3000000000): INVALID_CURSOR", async () => {
      const history =
        'query H($c: String) { aggregateHistory(aggregate: "Account", id: "x", after: $c) { edges { cursor } } }';
      // Cursors are the app's one codec (src/core/cursor.ts): [connection, tenant, value] as
      // base64url JSON. The old form `v1:3000000000` and a well-formed one past 32 bits are refused.
      const cursorOf = (value: string) =>
        Buffer.from(JSON.stringify(["aggregateHistory", "default", value])).toString("base64url");
      for (const c of [Buffer.from("v1:3000000000").toString("base64url"), cursorOf("3000000000")]) {
        const { json } = await send(history, { c });
        expect(codesOf(json.errors)).toEqual(["INVALID_CURSOR"]);
      }
      // The largest version there can be is a cursor like any other: an empty page after it.
      const last = await send(history, { c: cursorOf("2147483647") });
      expect(last.json).toEqual({ data: { aggregateHistory: { edges: [] } } });
    });

    it("a time outside years 1-9999 (atTime: -271821-04-20T00:00:00Z): BAD_USER_INPUT", async () => {
      const { json } = await send(
        '{ aggregateState(aggregate: "Account", id: "x", atTime: "-271821-04-20T00:00:00Z") { version } }',
      );
      expect(codesOf(json.errors)).toEqual(["BAD_USER_INPUT"]);
      expect(json.errors![0]!.message).toMatch(/atTime/);
      const search = await send(
        'query S($from: DateTime) { searchOrders(text: "x", from: $from) { edges { cursor } } }',
        {
          from: "+275760-09-13T00:00:00Z",
        },
      );
      expect(codesOf(search.json.errors)).toEqual(["BAD_USER_INPUT"]);
    });

    it("the same request ID with a different payload: IDEMPOTENCY_KEY_REUSED", async () => {
      const requestId = `reuse-${randomUUID()}`;
      const first = await send(DEPOSIT, { amount: 10, command: { aggregateId: accountId, requestId } });
      expect(resultOf(first.json, "deposit")).toMatchObject({ stage: "SENT", succeeded: true, requestId });
      const firstId = resultOf(first.json, "deposit").commandId;
      await waitProcessed(firstId);
      await nothingStored.rebase(); // the refused second send must add nothing to this

      const second = await send(DEPOSIT, { amount: 11, command: { aggregateId: accountId, requestId } });
      expect(second.json.data ?? null).toBeNull();
      expect(codesOf(second.json.errors)).toEqual(["IDEMPOTENCY_KEY_REUSED"]);
      expect(second.json.errors![0]!.message).toContain(firstId);
    });
  });

  /** Follows a command to PROCESSED over SSE: every result on the way. */
  async function waitProcessed(commandId: string): Promise<ResultView[]> {
    const client = createSseClient({ url: testApp.url, retryAttempts: 0 });
    const results: ResultView[] = [];
    for await (const r of client.iterate({ query: COMMAND_RESULTS, variables: { id: commandId } })) {
      expect(r.errors).toBeUndefined();
      results.push((r.data as { commandResults: ResultView }).commandResults);
    }
    client.dispose();
    return results;
  }

  describe("answered with a result, not an error", () => {
    it("an unknown aggregate ID: processed and refused with AGGREGATE_NOT_FOUND, no event", async () => {
      const counts = await storedCounts(testApp);
      const { json } = await send(DEPOSIT, {
        amount: 5,
        command: { aggregateId: "no-such-account", waitFor: { stage: "PROCESSED" } },
      });
      expect(json.errors).toBeUndefined();
      expect(resultOf(json, "deposit")).toMatchObject({
        stage: "PROCESSED",
        succeeded: false,
        errorCode: "AGGREGATE_NOT_FOUND",
        aggregateId: "no-such-account",
      });
      expect(await storedCounts(testApp)).toEqual({ events: counts.events, commands: counts.commands + 1 });
      expect(await eventsOf(testApp, "no-such-account")).toEqual([]);
    });

    it("a saga-only command (receiveTransfer, confirmTransfer, unlockTransfer) is no mutation: nothing stored", async () => {
      const counts = await storedCounts(testApp);
      for (const field of ["receiveTransfer", "confirmTransfer", "unlockTransfer"]) {
        const { json } = await send(
          `mutation C($id: ID!) { ${field}(input: { transferId: "t" }, command: { aggregateId: $id }) { succeeded } }`,
          { id: accountId },
        );
        expect(json.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
      }
      expect(await storedCounts(testApp)).toEqual(counts);
    });

    it("a transfer ID every object inherits (toString): refused TRANSFER_NOT_PENDING, the account intact", async () => {
      const counts = await storedCounts(testApp);
      // ConfirmTransfer is saga-only, so this goes through the gateway as the saga would.
      const result = await testApp.app.gateway.sendAndWait({
        tenantId: "default",
        aggregateName: "Account",
        type: "ConfirmTransfer",
        aggregateId: accountId,
        input: { transferId: "toString" },
      });
      expect({ succeeded: result.succeeded, errorCode: result.errorCode }).toEqual({
        succeeded: false,
        errorCode: "TRANSFER_NOT_PENDING",
      });
      expect(await storedCounts(testApp)).toEqual({ events: counts.events, commands: counts.commands + 1 });
      const state = await send("query S($id: ID!) { accountState(id: $id) { locked } }", { id: accountId });
      expect(state.json).toEqual({ data: { accountState: { locked: 0 } } });
    });

    it("a deposit past the largest balance: refused BALANCE_LIMIT_EXCEEDED, no event", async () => {
      const counts = await storedCounts(testApp);
      const { json } = await send(DEPOSIT, {
        amount: 2_147_483_647,
        command: { aggregateId: accountId, waitFor: { stage: "PROCESSED" } },
      });
      expect(resultOf(json, "deposit")).toMatchObject({ succeeded: false, errorCode: "BALANCE_LIMIT_EXCEEDED" });
      expect(await storedCounts(testApp)).toEqual({ events: counts.events, commands: counts.commands + 1 });
    });

    it("a stale expectedVersion: VERSION_CONFLICT, no event", async () => {
      const created = await send(CREATE_ACCOUNT, { name: "Versioned", command: { waitFor: { stage: "PROCESSED" } } });
      const id = resultOf(created.json, "createAccount").aggregateId;
      const fresh = await send(DEPOSIT, {
        amount: 1,
        command: { aggregateId: id, expectedVersion: 1, waitFor: { stage: "PROCESSED" } },
      });
      expect(resultOf(fresh.json, "deposit")).toMatchObject({ succeeded: true, aggregateVersion: 2 });

      const stale = await send(DEPOSIT, {
        amount: 1,
        command: { aggregateId: id, expectedVersion: 1, waitFor: { stage: "PROCESSED" } },
      });
      expect(stale.json.errors).toBeUndefined();
      expect(resultOf(stale.json, "deposit")).toMatchObject({
        stage: "PROCESSED",
        succeeded: false,
        errorCode: "VERSION_CONFLICT",
      });
      expect(await eventsOf(testApp, id)).toEqual([
        { type: "AccountCreated", version: 1 },
        { type: "MoneyDeposited", version: 2 },
      ]);
    });
  });

  describe("idempotent sends (command.requestId)", () => {
    it("the same request twice: the same command ID, processed once", async () => {
      const requestId = `twice-${randomUUID()}`;
      const variables = { name: "Twice", initialBalance: 7, command: { requestId, waitFor: { stage: "PROCESSED" } } };
      const first = resultOf((await send(CREATE_ACCOUNT, variables)).json, "createAccount");
      const second = resultOf((await send(CREATE_ACCOUNT, variables)).json, "createAccount");
      expect(first).toMatchObject({ stage: "PROCESSED", succeeded: true, requestId });
      expect(second.commandId).toBe(first.commandId);
      expect(second.aggregateId).toBe(first.aggregateId);
      expect(second.id).toBe(first.id);
      expect(await eventsOf(testApp, first.aggregateId)).toEqual([{ type: "AccountCreated", version: 1 }]);
      const rows = await testApp.db.sql.query("SELECT 1 FROM commands WHERE request_id = $1", [requestId]);
      expect(rows).toHaveLength(1);
    });

    it("50 concurrent sends of one request: one command ID, one event", async () => {
      const requestId = `burst-${randomUUID()}`;
      const sends = await Promise.all(
        Array.from({ length: 50 }, () => send(DEPOSIT, { amount: 3, command: { aggregateId: accountId, requestId } })),
      );
      for (const { status, json } of sends) {
        expect(status).toBe(200);
        expect(json.errors).toBeUndefined();
      }
      const commandIds = new Set(sends.map(({ json }) => resultOf(json, "deposit").commandId));
      expect(commandIds.size).toBe(1);
      const [commandId] = [...commandIds];

      const results = await waitProcessed(commandId!);
      expect(results.map((r) => r.stage)).toEqual(["SENT", "PROCESSED"]);
      expect(results[1]!.succeeded).toBe(true);
      const events = await testApp.db.sql.query("SELECT 1 FROM events WHERE request_id = $1", [requestId]);
      expect(events).toHaveLength(1);
      const commands = await testApp.db.sql.query("SELECT 1 FROM commands WHERE request_id = $1", [requestId]);
      expect(commands).toHaveLength(1);
    });
  });

  describe("over graphql-ws", () => {
    let client: WsClient;
    let opened = 0;
    let closed = 0;
    beforeAll(() => {
      client = wsClientOf(testApp, {
        lazy: false,
        on: { connected: () => opened++, closed: () => closed++ },
      });
    });
    afterAll(async () => {
      await client?.dispose();
    });

    it("a subscription to an unknown command: COMMAND_NOT_FOUND, and the socket stays usable", async () => {
      const unknown = await runOnWs(client, COMMAND_RESULTS, { id: randomUUID() });
      expect(unknown.data).toEqual([]);
      expect(codesOf(unknown.errors)).toEqual(["COMMAND_NOT_FOUND"]);

      const notAnId = await runOnWs(client, COMMAND_RESULTS, { id: "not-a-command-id" });
      expect(codesOf(notAnId.errors)).toEqual(["COMMAND_NOT_FOUND"]);

      const next = await runOnWs(client, "query State($id: ID!) { accountState(id: $id) { balance } }", {
        id: accountId,
      });
      expect(next.errors).toEqual([]);
      expect(next.data).toHaveLength(1);
      expect({ opened, closed }).toEqual({ opened: 1, closed: 0 });
    });

    it("a syntax error fails that operation only; the socket stays open", async () => {
      const before = await storedCounts(testApp);
      const broken = await runOnWs(client, "subscription { commandResults(commandId: ");
      expect(broken.data).toEqual([]);
      expect(codesOf(broken.errors)).toEqual(["GRAPHQL_PARSE_FAILED"]);

      const invalid = await runOnWs(client, "subscription { commandResults { id } }");
      expect(codesOf(invalid.errors)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);

      const next = await runOnWs(client, "query { __typename }");
      expect(next).toEqual({ data: [{ __typename: "Query" }], errors: [] });
      expect({ opened, closed }).toEqual({ opened: 1, closed: 0 });
      expect(await storedCounts(testApp)).toEqual(before);
    });
    it("a malformed tenant in connectionParams: closed 4403 at connection_init; other sockets unaffected", async () => {
      let badClosed: { code: number; reason: string } | undefined;
      const bad = wsClientOf(testApp, {
        connectionParams: { tenantId: "no spaces allowed" },
        on: { closed: (event) => (badClosed = event as { code: number; reason: string }) },
      });
      try {
        const refused = await runOnWs(bad, 'mutation { createAccount(input: { name: "t" }) { id } }');
        expect(refused.data).toEqual([]);
        expect(badClosed?.code).toBe(4403);
        expect(badClosed?.reason).toMatch(/INVALID_TENANT/);
      } finally {
        await bad.dispose();
      }
      expect(await runOnWs(client, "query { __typename }")).toEqual({ data: [{ __typename: "Query" }], errors: [] });
    });

    it("protocol abuse closes that socket only: 4401 before connection_init, 4400 for a message that is not JSON", async () => {
      const closeCodeAfter = async (message: string) => {
        const socket = new WebSocket(testApp.wsUrl, "graphql-transport-ws");
        await new Promise((resolve) => socket.once("open", resolve));
        const closing = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
        socket.send(message);
        return closing;
      };
      const counts = await storedCounts(testApp);
      expect(
        await closeCodeAfter(
          JSON.stringify({
            id: "1",
            type: "subscribe",
            payload: { query: 'mutation { createAccount(input: { name: "x" }) { id } }' },
          }),
        ),
      ).toBe(4401);
      expect(await closeCodeAfter("{ not json")).toBe(4400);
      expect(await storedCounts(testApp)).toEqual(counts);
      expect(await runOnWs(client, "query { __typename }")).toEqual({ data: [{ __typename: "Query" }], errors: [] });
      expect(closed).toBe(0);
    });
  });

  describe("over SSE", () => {
    it("a subscription to an unknown command: COMMAND_NOT_FOUND", async () => {
      const client = createSseClient({ url: testApp.url, singleConnection: false, retryAttempts: 0 });
      const errors: FormattedError[] = [];
      const data: unknown[] = [];
      try {
        for await (const r of client.iterate({ query: COMMAND_RESULTS, variables: { id: randomUUID() } })) {
          if (r.data) data.push(r.data);
          errors.push(...((r.errors ?? []) as unknown as FormattedError[]));
        }
      } catch (error) {
        errors.push(...(Array.isArray(error) ? (error as FormattedError[]) : []));
        if (!Array.isArray(error)) throw error;
      } finally {
        client.dispose();
      }
      expect(data).toEqual([]);
      expect(codesOf(errors)).toEqual(["COMMAND_NOT_FOUND"]);
    });
  });
});

describe.each(engines)("a wait that times out, on %s", (engine) => {
  // No command worker runs in this app: an asynchronous command is stored (SENT) and stays
  // PENDING, so a wait for PROCESSED cannot be satisfied and must end in WAIT_TIMEOUT. With a
  // running worker a 1 ms wait races the worker; without one the outcome does not depend on timing.
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await startTestApp(engine, {}, undefined, { workers: false });
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  it("reports WAIT_TIMEOUT with succeeded false, as a result, and the command stays at SENT", async () => {
    const before = await storedCounts(testApp);
    const { json } = await testApp.post({
      query: CREATE_ACCOUNT,
      variables: { name: "Patience", command: { async: true, waitFor: { stage: "PROCESSED", timeoutMs: 1 } } },
    });
    expect(json.errors).toBeUndefined();
    const result = json.data?.createAccount as ResultView;
    expect(result).toMatchObject({ stage: "PROCESSED", succeeded: false, errorCode: "WAIT_TIMEOUT" });
    expect(result.commandId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.errorMsg).toMatch(/SENT/);

    expect(await storedCounts(testApp)).toEqual({ events: before.events, commands: before.commands + 1 });
    const { json: so } = await testApp.post({
      query: "query Results($id: ID!) { commandResults(commandId: $id) { stage succeeded } }",
      variables: { id: result.commandId },
    });
    expect(so.data?.commandResults).toEqual([{ stage: "SENT", succeeded: true }]);
  });

  it("a subscription whose socket closes: the server ends it and lets go of its listeners; nothing stored", async () => {
    const bus = (testApp.app.gateway as unknown as { deps: { bus: ResultBus } }).deps.bus;
    const { json } = await testApp.post({
      query: CREATE_ACCOUNT,
      variables: { name: "Orphan", command: { async: true } },
    });
    const commandId = (json.data!.createAccount as ResultView).commandId;
    const before = await storedCounts(testApp);
    const listenersBefore = bus.listenerCount;

    let closedCode: number | undefined;
    const client = wsClientOf(testApp, {
      on: { closed: (event) => (closedCode = (event as { code: number }).code) },
    });
    const ended = new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: COMMAND_RESULTS, variables: { id: commandId } },
        { next: () => {}, error: resolve, complete: () => resolve("completed") },
      );
    });
    // Subscribed: the SENT result arrived from the store and the wait listens for the rest.
    await vi.waitFor(() => expect(bus.listenerCount).toBeGreaterThan(listenersBefore));

    client.terminate();
    expect(await ended).toMatchObject({ code: 4499 });
    expect(closedCode).toBe(4499);
    await vi.waitFor(() => expect(bus.listenerCount).toBe(listenersBefore));

    expect(await storedCounts(testApp)).toEqual(before);
    await client.dispose();
  });
});
