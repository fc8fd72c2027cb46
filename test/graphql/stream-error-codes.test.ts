/**
 * An error thrown while a subscription streams (not when it starts) reaches the client with a
 * stable code, on graphql-ws as on SSE: a command whose background processing lost the database
 * interrupts the waits on it with UNAVAILABLE (gateway.ts, processInBackground), and anything
 * unexpected is masked as INTERNAL_SERVER_ERROR. graphql-ws delivers such an error as an `error`
 * message (an array of GraphQL errors handed to the sink's `error`), not in a `next` payload:
 * the fan-out bench's driver turned that array into a plain Error and lost its code, so a run
 * counted UNAVAILABLE as `other` (bench/ws-operations.ts classifies it now; checked here against
 * the real server).
 */
import { createClient as createSseClient } from "graphql-sse";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { watchResults } from "../../bench/ws-operations.ts";
import { Unavailable } from "../../src/core/errors.ts";
import type { ResultBus } from "../../src/gateway/result-bus.ts";
import {
  COMMAND_RESULTS,
  CREATE_ACCOUNT,
  type ResultView,
  startTestApp,
  type TestApp,
  wsClientOf,
} from "../support/app.ts";
import { engines } from "../support/databases.ts";

interface FormattedError {
  message: string;
  extensions?: Record<string, unknown>;
}

interface Outcome {
  data: unknown[];
  errors: FormattedError[];
  /** The socket closed under the operation (its close code), instead of an answer. */
  closed?: number;
}

const codesOf = (errors: readonly FormattedError[]) => errors.map((e) => e.extensions?.code);

describe.each(engines)("errors thrown while a subscription streams carry a code, on %s", (engine) => {
  // No command worker: an asynchronous command stays at SENT, so its wait listens until interrupted.
  let testApp: TestApp;
  let bus: ResultBus;
  beforeAll(async () => {
    testApp = await startTestApp(engine, {}, undefined, { workers: false });
    bus = (testApp.app.gateway as unknown as { deps: { bus: ResultBus } }).deps.bus;
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  const pendingCommand = async (name: string) => {
    const { json } = await testApp.post({ query: CREATE_ACCOUNT, variables: { name, command: { async: true } } });
    return (json.data!.createAccount as ResultView).commandId;
  };

  /** Subscribes over graphql-ws, interrupts the wait once it listens, and collects the answer. */
  async function interruptedOnWs(error: Error): Promise<Outcome> {
    const commandId = await pendingCommand("Interrupted on ws");
    const listening = bus.listenerCount;
    let closed: number | undefined;
    const client = wsClientOf(testApp, { on: { closed: (event) => (closed = (event as { code: number }).code) } });
    try {
      const data: unknown[] = [];
      const errors: FormattedError[] = [];
      const ended = new Promise<void>((resolve) => {
        client.subscribe(
          { query: COMMAND_RESULTS, variables: { id: commandId } },
          {
            next: (r) => {
              if (r.data) data.push(r.data);
              errors.push(...((r.errors ?? []) as FormattedError[]));
            },
            error: (e) => {
              if (Array.isArray(e)) errors.push(...(e as FormattedError[]));
              resolve();
            },
            complete: resolve,
          },
        );
      });
      await vi.waitFor(() => expect(bus.listenerCount).toBeGreaterThan(listening), { timeout: 30_000 });
      bus.interrupt(commandId, error);
      await ended;
      return { data, errors, closed };
    } finally {
      await client.dispose();
    }
  }

  async function interruptedOnSse(error: Error): Promise<Outcome> {
    const commandId = await pendingCommand("Interrupted on SSE");
    const listening = bus.listenerCount;
    const client = createSseClient({ url: testApp.url, singleConnection: false, retryAttempts: 0 });
    const data: unknown[] = [];
    const errors: FormattedError[] = [];
    try {
      const reading = (async () => {
        try {
          for await (const r of client.iterate({ query: COMMAND_RESULTS, variables: { id: commandId } })) {
            if (r.data) data.push(r.data);
            errors.push(...((r.errors ?? []) as unknown as FormattedError[]));
          }
        } catch (e) {
          if (!Array.isArray(e)) throw e;
          errors.push(...(e as FormattedError[]));
        }
      })();
      await vi.waitFor(() => expect(bus.listenerCount).toBeGreaterThan(listening), { timeout: 30_000 });
      bus.interrupt(commandId, error);
      await reading;
      return { data, errors };
    } finally {
      client.dispose();
    }
  }

  it("graphql-ws: a wait interrupted by a lost database ends in UNAVAILABLE; the socket stays open", async () => {
    const outcome = await interruptedOnWs(new Unavailable("The database went away while processing the command"));
    expect(outcome.data).toHaveLength(1); // SENT, read from the store
    expect(codesOf(outcome.errors)).toEqual(["UNAVAILABLE"]);
    expect(outcome.errors[0]?.message).toMatch(/database went away/);
    expect(outcome.closed).toBeUndefined();
  });

  // Outside production the masked error also carries the original under extensions (Yoga's isDev).
  it("graphql-ws: an unexpected error while streaming is masked as INTERNAL_SERVER_ERROR", async () => {
    const outcome = await interruptedOnWs(new Error("detail of a broken internal"));
    expect(codesOf(outcome.errors)).toEqual(["INTERNAL_SERVER_ERROR"]);
    expect(outcome.errors[0]?.message).toBe("Unexpected error.");
    expect(outcome.closed).toBeUndefined();
  });

  it("SSE: the same two errors carry the same codes", async () => {
    const unavailable = await interruptedOnSse(new Unavailable("The database went away while processing the command"));
    expect(codesOf(unavailable.errors)).toEqual(["UNAVAILABLE"]);
    const unexpected = await interruptedOnSse(new Error("detail of a broken internal"));
    expect(codesOf(unexpected.errors)).toEqual(["INTERNAL_SERVER_ERROR"]);
    expect(unexpected.errors[0]?.message).toBe("Unexpected error.");
  });

  it("the fan-out driver counts a wait interrupted by a lost database as UNAVAILABLE, not `other`", async () => {
    const commandId = await pendingCommand("Watched by the driver");
    const listening = bus.listenerCount;
    const client = wsClientOf(testApp);
    try {
      const watching = watchResults(client, commandId).then(
        () => ({ code: "none: the watch succeeded" }),
        (error: { code?: unknown; message?: string }) => error,
      );
      await vi.waitFor(() => expect(bus.listenerCount).toBeGreaterThan(listening), { timeout: 30_000 });
      bus.interrupt(commandId, new Unavailable("The database went away while processing the command"));
      expect(await watching).toMatchObject({
        code: "UNAVAILABLE",
        message: expect.stringMatching(/database went away/),
      });
    } finally {
      await client.dispose();
    }
  });
  /**
   * A sweep over the ways an operation fails, each sent over graphql-ws and over HTTP: every
   * error either transport answers carries a code. bad-input.test.ts checks each code over HTTP;
   * here the point is that none is missing, on the socket too.
   */
  describe("a sweep: no error leaves without a code", () => {
    const failures: { name: string; operationName?: string; query: string; variables?: Record<string, unknown> }[] = [
      { name: "a syntax error", query: "subscription { commandResults(commandId: " },
      { name: "an invalid document", query: "subscription { commandResults { id } }" },
      { name: "an unknown operation name", query: "query A { __typename }", operationName: "B" },
      {
        name: "a variable of the wrong type",
        query: 'mutation D($a: Int!) { deposit(input: { amount: $a }, command: { aggregateId: "x" }) { commandId } }',
        variables: { a: "ten" },
      },
      {
        name: "a refused command input",
        query: 'mutation { deposit(input: { amount: -5 }, command: { aggregateId: "x" }) { commandId } }',
      },
      {
        name: "results of an unknown command",
        query: "query R($id: ID!) { commandResults(commandId: $id) { id } }",
        variables: { id: "01a233d9-688d-7074-abc9-b5ff96919479" },
      },
      { name: "a cursor that is not one", query: '{ accounts(after: "not-a-cursor") { edges { cursor } } }' },
      { name: "a negative page size", query: "{ accounts(first: -1) { edges { cursor } } }" },
      { name: "a position that is not a token", query: '{ account(id: "x", minPosition: "12") { id } }' },
      { name: "a time out of range", query: '{ accountState(id: "x", atTime: "-271821-04-20T00:00:00Z") { id } }' },
    ];

    async function onWs(operation: (typeof failures)[number]): Promise<FormattedError[]> {
      const client = wsClientOf(testApp);
      try {
        return await new Promise<FormattedError[]>((resolve) => {
          const errors: FormattedError[] = [];
          client.subscribe(
            { query: operation.query, variables: operation.variables, operationName: operation.operationName },
            {
              next: (r) => errors.push(...((r.errors ?? []) as FormattedError[])),
              error: (e) => {
                if (Array.isArray(e)) errors.push(...(e as FormattedError[]));
                else errors.push({ message: `socket closed: ${JSON.stringify(e)}` });
                resolve(errors);
              },
              complete: () => resolve(errors),
            },
          );
        });
      } finally {
        await client.dispose();
      }
    }

    const onHttp = async ({ query, variables, operationName }: (typeof failures)[number]) =>
      ((await testApp.post({ query, variables, operationName })).json.errors ?? []) as FormattedError[];

    for (const transport of ["graphql-ws", "HTTP"] as const) {
      it(`${transport}: every refusal carries a code`, async () => {
        for (const operation of failures) {
          const errors = await (transport === "HTTP" ? onHttp(operation) : onWs(operation));
          expect(errors.length, operation.name).toBeGreaterThan(0);
          for (const error of errors)
            expect(error.extensions?.code, `${operation.name}: ${error.message}`).toEqual(expect.any(String));
        }
      });

      it(`${transport}: a resolver's unexpected error is INTERNAL_SERVER_ERROR`, async () => {
        const spy = vi
          .spyOn(testApp.app.gateway, "resultsSoFar")
          .mockRejectedValue(new Error("detail of a broken internal"));
        try {
          const operation = failures.find((f) => f.name === "results of an unknown command")!;
          const errors = await (transport === "HTTP" ? onHttp(operation) : onWs(operation));
          expect(codesOf(errors)).toEqual(["INTERNAL_SERVER_ERROR"]);
        } finally {
          spy.mockRestore();
        }
      });
    }
  });
});
