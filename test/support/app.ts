/**
 * A whole Stageline (gateway, workers, GraphQL server on a real port) over a fresh test
 * database, for tests that talk to it like a client would.
 */
import { type App, createApp } from "../../src/app.ts";
import { type Config, loadConfig } from "../../src/config.ts";
import type { BoundedContext } from "../../src/core/context.ts";
import { openTestDatabase, type TestDatabase, type TestEngine } from "./databases.ts";

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

export async function startTestApp(
  engine: TestEngine,
  overrides: Partial<Config> = {},
  contexts?: readonly BoundedContext[],
): Promise<TestApp> {
  const db = await openTestDatabase(engine);
  const config = { ...loadConfig({ NODE_ENV: "test" }), port: 0, host: "127.0.0.1", ...overrides };
  const app = await createApp({ config, database: db, contexts });
  const { url } = await app.start();
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
