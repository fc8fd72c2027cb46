/**
 * Shared pieces of the GraphQL tests: the operations they send, the shape of a command result
 * as selected, and row counts to prove that nothing was stored.
 */
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import type { GraphQLResponse, TestApp } from "../support/app.ts";
import { openTestDatabase, type TestEngine } from "../support/databases.ts";

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

/** Row counts of the tables a command writes to. */
export async function storedCounts(testApp: TestApp): Promise<{ events: number; commands: number }> {
  return { events: await countRows(testApp, "events"), commands: await countRows(testApp, "commands") };
}

export async function eventsOf(testApp: TestApp, aggregateId: string): Promise<{ type: string; version: number }[]> {
  return testApp.db.sql.query<{ type: string; version: number }>(
    "SELECT type, version FROM events WHERE aggregate_id = $1 ORDER BY version",
    [aggregateId],
  );
}

/**
 * Like startTestApp, but only the GraphQL server is started, not the command worker: a command
 * sent with `async: true` then stays PENDING for as long as the test likes, so a wait on it
 * times out every time, whatever the machine's speed.
 */
export async function startTestAppWithoutWorker(engine: TestEngine): Promise<TestApp> {
  const db = await openTestDatabase(engine);
  const config = { ...loadConfig({ NODE_ENV: "test" }), port: 0, host: "127.0.0.1" };
  const app = await createApp({ config, database: db });
  const { url } = await app.server.listen(0, "127.0.0.1");
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
