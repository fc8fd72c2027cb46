/**
 * What the security tests share: a Stageline with authentication on (JWT and API keys), token
 * signing with the test's secret (and deliberately wrong ones), and the three transports driven
 * at the level where a refusal shows (HTTP status, graphql-ws close code, SSE error).
 */
import { createClient as createSseClient, NetworkError } from "graphql-sse";
import WebSocket from "ws";
import { loadSecurityConfig, type SecurityConfig } from "../../src/auth/config.ts";
import { signLocalToken } from "../../src/auth/jwt.ts";
import type { Config } from "../../src/config.ts";
import { startTestApp, type TestApp, type TestAppOptions } from "../support/app.ts";
import type { TestEngine } from "../support/databases.ts";

export const SECRET = "test-secret-test-secret-test-secret-0123";
export const AUTH_ENV = {
  AUTH_MODE: "jwt,apikey",
  AUTH_JWT_SECRET: SECRET,
  AUTH_JWT_ISSUER: "stageline-test",
  AUTH_JWT_AUDIENCE: "stageline",
  AUTH_CLOCK_SKEW_SECONDS: "5",
};

export const securityConfig = (env: Record<string, string> = AUTH_ENV, production = false): SecurityConfig =>
  loadSecurityConfig(env, production);

export function startSecureApp(
  engine: TestEngine,
  security: SecurityConfig = securityConfig(),
  overrides: Partial<Config> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  return startTestApp(engine, { security, ...overrides }, undefined, options);
}

export interface Grant {
  tenants: string[];
  roles?: string[];
  /** Seconds from now; negative: already expired. */
  expiresIn?: number;
  audience?: string;
  secret?: string;
  /** The token's `sub` (default "tester"). */
  subject?: string;
}

export function token(grant: Grant): Promise<string> {
  const config = securityConfig();
  return signLocalToken(
    { ...config.jwt, audience: grant.audience ?? config.jwt.audience, secret: grant.secret ?? SECRET },
    config,
    {
      subject: grant.subject ?? "tester",
      tenants: grant.tenants,
      roles: grant.roles ?? [],
      expiresInSeconds: grant.expiresIn ?? 600,
    },
  );
}

export const bearer = (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` });

export interface FormattedError {
  message: string;
  extensions?: Record<string, unknown>;
}

export const codesOf = (errors: readonly FormattedError[] | undefined) => (errors ?? []).map((e) => e.extensions?.code);

/**
 * Opens a raw graphql-transport-ws socket and sends connection_init with these params. Resolves
 * with "ack" and the open socket, or with the close code the server refused it with.
 */
export function connectWs(
  url: string,
  connectionParams: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ ack: true; socket: WebSocket } | { ack: false; closeCode: number; status?: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, "graphql-transport-ws", { headers });
    socket.once("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: connectionParams })));
    socket.on("message", (data) => {
      if (JSON.parse(String(data)).type === "connection_ack") resolve({ ack: true, socket });
    });
    socket.once("close", (code) => resolve({ ack: false, closeCode: code }));
    socket.once("unexpected-response", (_req, res) => {
      resolve({ ack: false, closeCode: 0, status: res.statusCode });
      socket.terminate();
    });
    socket.once("error", () => undefined);
  });
}

export interface StreamOutcome {
  data: unknown[];
  codes: unknown[];
}

/** Runs one operation on an acknowledged socket until it completes or errors. */
export function runOnSocket(
  socket: WebSocket,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<StreamOutcome> {
  const id = Math.random().toString(36).slice(2);
  return new Promise((resolve) => {
    const outcome: StreamOutcome = { data: [], codes: [] };
    const onMessage = (raw: WebSocket.RawData) => {
      const message = JSON.parse(String(raw)) as { id?: string; type: string; payload?: unknown };
      if (message.id !== id) return;
      if (message.type === "next") {
        const payload = message.payload as { data?: unknown; errors?: FormattedError[] };
        if (payload.data) outcome.data.push(payload.data);
        outcome.codes.push(...codesOf(payload.errors));
      } else if (message.type === "error") {
        outcome.codes.push(...codesOf(message.payload as FormattedError[]));
        socket.off("message", onMessage);
        resolve(outcome);
      } else if (message.type === "complete") {
        socket.off("message", onMessage);
        resolve(outcome);
      }
    };
    socket.on("message", onMessage);
    socket.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables } }));
  });
}

/** A subscription over SSE (distinct connections) with these headers, until it ends. */
export async function subscribeOverSse(
  testApp: TestApp,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string>,
): Promise<StreamOutcome & { status?: number }> {
  const outcome: StreamOutcome = { data: [], codes: [] };
  const client = createSseClient({ url: testApp.url, singleConnection: false, retryAttempts: 0, headers });
  try {
    for await (const result of client.iterate({ query, variables })) {
      if (result.data) outcome.data.push(result.data);
      outcome.codes.push(...codesOf(result.errors as unknown as FormattedError[] | undefined));
    }
  } catch (error) {
    if (Array.isArray(error)) outcome.codes.push(...codesOf(error as FormattedError[]));
    else if (error instanceof NetworkError && error.response) {
      // Refused before the stream started: the HTTP answer is the error.
      const body = (await error.response.json().catch(() => ({}))) as { errors?: FormattedError[] };
      outcome.codes.push(...codesOf(body.errors));
      return { ...outcome, status: error.response.status };
    } else throw error;
  } finally {
    client.dispose();
  }
  return outcome;
}
