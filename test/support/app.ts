/**
 * A whole Stageline (gateway, workers, GraphQL server on a real port) over a fresh test
 * database, for tests that talk to it like a client would; the operations those tests send,
 * the shape of a command result as selected, and row counts to prove that nothing was stored.
 */

import { type ClientOptions, createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { afterEach, beforeEach, expect, vi } from "vitest";
import WebSocket from "ws";
import { type App, createApp } from "../../src/app.ts";
import { type Config, loadConfig } from "../../src/config.ts";
import type { BoundedContext } from "../../src/core/context.ts";
import type { SendRequest } from "../../src/gateway/gateway.ts";
import type { Logger } from "../../src/logger.ts";
import { openTestDatabase, type TestDatabase, type TestEngine } from "./databases.ts";
import { perSuite } from "./per-suite.ts";

export interface TestApp {
  app: App;
  db: TestDatabase;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  wsUrl: string;
  /** POSTs a GraphQL request; returns the parsed JSON body and the HTTP status. */
  post(body: unknown, headers?: Record<string, string>): Promise<{ status: number; json: GraphQLResponse }>;
  stop(): Promise<void>;
}

export interface GraphQLResponse {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string; [key: string]: unknown }; path?: string[] }[];
}

export interface TestAppOptions {
  /**
   * false: only the GraphQL server listens; the command worker and the runners do not start.
   * A command sent with `async: true` then stays PENDING for as long as the test likes, so a
   * wait on it times out every time, whatever the machine's speed.
   */
  workers?: boolean;
}

/**
 * The configuration a test app starts from. A queued command waits up to two minutes for
 * admission here (5 s in production): a test that sends a few hundred commands at once must not
 * be answered OVERLOADED because the machine running it is slow. Admission's own tests set
 * their limits.
 */
export function loadTestConfig(env = "test"): Config {
  const config = loadConfig({ NODE_ENV: env });
  return { ...config, admission: { ...config.admission, maxQueueWaitMs: 120_000 } };
}

export async function startTestApp(
  engine: TestEngine,
  overrides: Partial<Config> = {},
  contexts?: readonly BoundedContext[],
  { workers = true }: TestAppOptions = {},
): Promise<TestApp> {
  const db = await openTestDatabase(engine);
  const config = { ...loadTestConfig("test"), port: 0, host: "127.0.0.1", ...overrides };
  const app = await createApp({ config, database: db, contexts });
  const { url } = workers ? await app.start() : await app.server.listen(0, "127.0.0.1");
  return {
    app,
    db,
    url,
    wsUrl: url.replace(/^http/, "ws"),
    async post(body, headers = {}) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as GraphQLResponse };
    },
    async stop() {
      await app.stop();
      await db.close();
    },
  };
}

/** A started test app for the whole suite (`describe`), stopped after it (see per-suite.ts). */
export const useTestApp = (...args: Parameters<typeof startTestApp>): TestApp =>
  perSuite(
    () => startTestApp(...args),
    (testApp) => testApp.stop(),
  );

/** A graphql-ws client of the test app that never retries (a test sees each close); `options` add to that. */
export const wsClientOf = (testApp: TestApp, options: Partial<ClientOptions> = {}): WsClient =>
  createWsClient({ url: testApp.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, ...options });

/** The runner settings of the end-to-end tests: polls that keep waits short, poison to the dead letters. */
export const FAST_RUNNER = { batchSize: 100, pollMs: 50, maxAttempts: 2, onPoison: "dead-letter" } as const;

/** The runner settings of the runner tests: small polls, a few attempts, poison to the dead letters. */
export const TEST_RUNNER = { batchSize: 100, pollMs: 20, maxAttempts: 3, onPoison: "dead-letter" } as const;

/** An app (not started) over `db` with these contexts and runner settings, as the runner tests build it. */
export function createRunnerApp(
  db: TestDatabase,
  contexts: readonly BoundedContext[],
  options: { runner?: Partial<Config["runner"]>; env?: string; logger?: Logger } = {},
): Promise<App> {
  return createApp({
    config: {
      ...loadTestConfig(options.env ?? "test"),
      port: 0,
      runner: { ...TEST_RUNNER, ...options.runner },
    },
    database: db,
    contexts,
    ...(options.logger ? { logger: options.logger } : {}),
  });
}

export const RESULT_FIELDS = `
  id commandId stage scope aggregateId aggregateVersion requestId succeeded errorCode errorMsg
  bindingErrors { field code message }
`;

export const CREATE_ACCOUNT = `
  mutation CreateAccount($name: String!, $initialBalance: Int, $command: CommandOptions) {
    createAccount(input: { name: $name, initialBalance: $initialBalance }, command: $command) { ${RESULT_FIELDS} }
  }`;

export const DEPOSIT = `
  mutation Deposit($amount: Int!, $command: CommandOptions) {
    deposit(input: { amount: $amount }, command: $command) { ${RESULT_FIELDS} }
  }`;

export const WITHDRAW = `
  mutation Withdraw($amount: Int!, $command: CommandOptions) {
    withdraw(input: { amount: $amount }, command: $command) { ${RESULT_FIELDS} }
  }`;

export const COMMAND_RESULTS = `
  subscription CommandResults($id: ID!) {
    commandResults(commandId: $id, until: { stage: PROCESSED }) { ${RESULT_FIELDS} }
  }`;

export const ACCOUNT_STATE = `
  query AccountState($id: ID!) { accountState(id: $id) { id name balance frozen version } }`;

export interface ResultView {
  id: string;
  commandId: string;
  stage: string;
  scope: string;
  aggregateId: string;
  aggregateVersion: number | null;
  requestId: string;
  succeeded: boolean;
  errorCode: string;
  errorMsg: string;
  bindingErrors: { field: string; code: string; message: string }[];
}

export interface AccountView {
  id: string;
  name: string;
  balance: number;
  frozen: boolean;
  version: number;
}

export type Table = "events" | "commands" | "command_results";

export async function countRows(testApp: TestApp, table: Table): Promise<number> {
  const rows = await testApp.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

/**
 * Row counts of the tables a command writes to, once every stored command is processed (an
 * earlier test's command answered at SENT may still be appending its events).
 */
export async function storedCounts(testApp: TestApp): Promise<{ events: number; commands: number }> {
  await vi.waitFor(
    async () => {
      const pending = await testApp.db.sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM commands WHERE status <> 'DONE' AND NOT is_async",
      );
      expect(pending[0]!.n).toBe(0);
    },
    { timeout: 10_000, interval: 20 },
  );
  return { events: await countRows(testApp, "events"), commands: await countRows(testApp, "commands") };
}

/**
 * Every test of the enclosing `describe` must leave the stored events and commands as they were
 * (bad input is refused before anything is stored). `rebase()` takes a new baseline mid-test,
 * for a test that stores something on purpose before the refusal it checks.
 */
export function expectNothingStoredByEachTest(testApp: TestApp): { rebase(): Promise<void> } {
  let before: { events: number; commands: number } | undefined;
  const rebase = async () => {
    before = await storedCounts(testApp);
  };
  beforeEach(rebase);
  afterEach(async () => {
    expect(await storedCounts(testApp)).toEqual(before);
  });
  return { rebase };
}

export async function eventsOf(testApp: TestApp, aggregateId: string): Promise<{ type: string; version: number }[]> {
  return testApp.db.sql.query<{ type: string; version: number }>(
    "SELECT type, version FROM events WHERE aggregate_id = $1 ORDER BY version",
    [aggregateId],
  );
}

/** A gateway request for an Account command in the default tenant (tests that bypass GraphQL). */
export const accountCommand = (
  type: string,
  aggregateId: string,
  input: unknown,
  tenantId = "default",
): SendRequest => ({
  aggregateName: "Account",
  type,
  input,
  aggregateId,
  tenantId,
});
