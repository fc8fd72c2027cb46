/**
 * Exhaustion limits (issue 13, item 5), each with its setting and its stable answer:
 * waits per credential (TOO_MANY_WAITS) and the longest wait (TIMEOUT_TOO_LONG) on both engines,
 * nothing stored when refused; a rate per credential (429 RATE_LIMITED); sockets per credential
 * (close 4029) and per address (upgrade 429); a reader that stops reading (close 4008
 * SLOW_READER); a frame over the size limit (close 1009 and one log line, no console.error).
 *
 * Catches (each verified by removing it):
 * - limitWaits in src/app.ts's context: the third wait and the long timeout run;
 * - rate.consume in httpCaller (src/graphql/plugins/auth-context.ts): no request is refused;
 * - the perCredential check in server.ts onConnect: the third socket is acknowledged;
 * - underAddressLimit in server.ts verifyClient: the third upgrade succeeds;
 * - drained() in ws-transport.ts send: the slow reader is never closed;
 * - the socket "error" listener in ws-transport.ts (useServer instead): console.error is called;
 * - the guard call in src/ops/http.ts: /ready and /metrics answer without a credential.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type WebSocket from "ws";
import { logger } from "../../src/logger.ts";
import { CREATE_ACCOUNT, storedCounts, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { AUTH_ENV, bearer, codesOf, connectWs, runOnSocket, securityConfig, startSecureApp, token } from "./support.ts";

const WATCH = `subscription Watch($id: ID!) {
  commandResults(commandId: $id, until: { stage: SAGA_HANDLED, timeoutMs: 60000 }) { stage }
}`;

const open = async (url: string, params: Record<string, unknown>) => {
  const connected = await connectWs(url, params);
  if (!connected.ack) throw new Error(`refused: ${connected.closeCode}`);
  return connected.socket;
};

/** Subscribes and resolves once the first result (SENT, replayed) arrived: the wait is running. */
function startWait(socket: WebSocket, id: string, commandId: string): Promise<void> {
  return new Promise((resolve) => {
    socket.on("message", (raw) => {
      const message = JSON.parse(String(raw)) as { id?: string; type: string };
      if (message.id === id && message.type === "next") resolve();
    });
    socket.send(JSON.stringify({ id, type: "subscribe", payload: { query: WATCH, variables: { id: commandId } } }));
  });
}

describe.each(engines)("waits per credential and their longest timeout, on %s", (engine) => {
  let testApp: TestApp;
  let pendingId: string;
  const env = { ...AUTH_ENV, MAX_WAITS_PER_CREDENTIAL: "2", WAIT_MAX_TIMEOUT_MS: "90000" };

  beforeAll(async () => {
    // Workers off: the async command stays SENT, so each wait on it stays open.
    testApp = await startSecureApp(engine, securityConfig(env), {}, { workers: false });
    const { json } = await testApp.post(
      { query: CREATE_ACCOUNT, variables: { name: "Ada", command: { aggregateId: "ada", async: true } } },
      bearer(await token({ tenants: ["acme"], roles: ["teller"] })),
    );
    pendingId = (json.data!.createAccount as { commandId: string }).commandId;
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  it("refuses a wait past MAX_WAITS_PER_CREDENTIAL with TOO_MANY_WAITS, others' waits go on, room after one ends", async () => {
    const alice = await token({ tenants: ["acme"], roles: ["teller"], subject: "alice" });
    const socket = await open(testApp.wsUrl, { authorization: `Bearer ${alice}` });
    const bobSocket = await open(testApp.wsUrl, {
      authorization: `Bearer ${await token({ tenants: ["acme"], roles: ["teller"], subject: "bob" })}`,
    });
    try {
      await Promise.all([startWait(socket, "w1", pendingId), startWait(socket, "w2", pendingId)]);
      expect((await runOnSocket(socket, WATCH, { id: pendingId })).codes).toEqual(["TOO_MANY_WAITS"]);

      const before = await storedCounts(testApp);
      const mutation = await testApp.post(
        {
          query: CREATE_ACCOUNT,
          variables: { name: "Bo", command: { aggregateId: "bo", waitFor: { stage: "PROCESSED" } } },
        },
        bearer(alice),
      );
      expect(codesOf(mutation.json.errors)).toEqual(["TOO_MANY_WAITS"]);
      expect(await storedCounts(testApp)).toEqual(before);

      await startWait(bobSocket, "b1", pendingId); // another credential has its own slots

      socket.send(JSON.stringify({ id: "w1", type: "complete" }));
      await expect
        .poll(
          async () => {
            const outcome = await Promise.race([
              runOnSocket(socket, WATCH, { id: pendingId }).then((o) => o.codes),
              new Promise<string[]>((resolve) => setTimeout(() => resolve(["RUNNING"]), 500)),
            ]);
            return outcome;
          },
          { timeout: 10_000 },
        )
        .toEqual(["RUNNING"]);
    } finally {
      socket.close();
      bobSocket.close();
    }
  });

  it("refuses a timeoutMs past WAIT_MAX_TIMEOUT_MS with TIMEOUT_TOO_LONG and stores nothing", async () => {
    const headers = bearer(await token({ tenants: ["acme"], roles: ["teller"], subject: "carol" }));
    const before = await storedCounts(testApp);
    const send = (timeoutMs: number) =>
      testApp.post(
        {
          query: CREATE_ACCOUNT,
          variables: {
            name: "Cy",
            command: { aggregateId: `cy-${timeoutMs}`, async: true, waitFor: { stage: "PROCESSED", timeoutMs } },
          },
        },
        headers,
      );
    expect(codesOf((await send(90_001)).json.errors)).toEqual(["TIMEOUT_TOO_LONG"]);
    expect(await storedCounts(testApp)).toEqual(before);
    // Within the maximum it runs (and, the workers being off, times out as a result, not an error).
    const within = await send(50);
    expect(within.json.errors).toBeUndefined();
    expect(within.json.data?.createAccount).toMatchObject({ errorCode: "WAIT_TIMEOUT" });
  });
});

describe("transport limits (no storage involved: PGlite)", () => {
  let testApp: TestApp;
  const env = {
    ...AUTH_ENV,
    RATE_LIMIT_PER_SECOND: "3",
    WS_MAX_SOCKETS_PER_CREDENTIAL: "2",
    WS_MAX_SOCKETS_PER_ADDRESS: "4",
    OPS_METRICS_TOKEN: "metrics-token-metrics-token-metrics-token",
  };

  beforeAll(async () => {
    testApp = await startSecureApp("pglite", securityConfig(env), {}, { workers: false });
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  it("answers 429 RATE_LIMITED past RATE_LIMIT_PER_SECOND for one credential, not for another", async () => {
    const hasty = bearer(await token({ tenants: ["acme"], subject: "hasty" }));
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => testApp.post({ query: "{ __typename }" }, hasty)),
    );
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(codesOf(refused[0]!.json.errors)).toEqual(["RATE_LIMITED"]);
    const calm = await testApp.post(
      { query: "{ __typename }" },
      bearer(await token({ tenants: ["acme"], subject: "calm" })),
    );
    expect(calm.status).toBe(200);
  });

  it("closes a socket past WS_MAX_SOCKETS_PER_CREDENTIAL (4029) and refuses upgrades past WS_MAX_SOCKETS_PER_ADDRESS (429)", async () => {
    const params = { authorization: `Bearer ${await token({ tenants: ["acme"], subject: "many" })}` };
    const sockets = [await open(testApp.wsUrl, params), await open(testApp.wsUrl, params)];
    try {
      expect(await connectWs(testApp.wsUrl, params)).toMatchObject({ ack: false, closeCode: 4029 });
      const other = { authorization: `Bearer ${await token({ tenants: ["acme"], subject: "other" })}` };
      sockets.push(await open(testApp.wsUrl, other), await open(testApp.wsUrl, other));
      expect(await connectWs(testApp.wsUrl, other)).toMatchObject({ ack: false, status: 429 });

      sockets.shift()!.close();
      sockets.shift()!.close();
      await expect.poll(async () => (await connectWs(testApp.wsUrl, params)).ack, { timeout: 10_000 }).toBe(true);
    } finally {
      for (const socket of sockets) socket.close();
    }
  });

  it("guards /ready and /metrics with the metrics token or an admin credential; /health stays open", async () => {
    const base = testApp.url.replace(/\/graphql$/, "");
    const status = async (path: string, headers: Record<string, string> = {}) =>
      (await fetch(`${base}${path}`, { headers })).status;
    expect(await status("/health")).toBe(200);
    const teller = bearer(await token({ tenants: ["acme"], roles: ["teller"], subject: "ops-teller" }));
    const admin = bearer(await token({ tenants: ["acme"], roles: ["admin"], subject: "ops-admin" }));
    for (const path of ["/ready", "/metrics"]) {
      expect(await status(path), path).toBe(401);
      expect(await status(path, teller), path).toBe(401);
      expect(await status(path, bearer("wrong-token-wrong-token-wrong-token-xx")), path).toBe(401);
      expect([200, 503], path).toContain(await status(path, admin));
      expect([200, 503], path).toContain(await status(path, bearer(env.OPS_METRICS_TOKEN)));
    }
  });

  it("closes a frame over the size limit with 1009 and logs one line, without console.error", async () => {
    const consoleError = vi.spyOn(console, "error");
    const info = vi.spyOn(logger, "info");
    try {
      const socket = await open(testApp.wsUrl, {
        authorization: `Bearer ${await token({ tenants: ["acme"], subject: "big" })}`,
      });
      const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
      socket.send("x".repeat(testApp.app.config.maxBodyBytes + 1));
      expect(await closed).toBe(1009);
      await expect.poll(() => info.mock.calls.some((call) => call[1] === "websocket error")).toBe(true);
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      consoleError.mockRestore();
      info.mockRestore();
    }
  });
});

describe("a reader that stops reading (no storage involved: PGlite)", () => {
  let testApp: TestApp;
  const env = { ...AUTH_ENV, WS_MAX_BUFFERED_BYTES: "1024", WS_SLOW_READER_MS: "2000", WS_MAX_OPERATIONS: "1000" };

  beforeAll(async () => {
    testApp = await startSecureApp("pglite", securityConfig(env), {}, { workers: false });
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  it("closes a reader that stops reading with 4008 SLOW_READER once its buffer stays past the bound", async () => {
    const info = vi.spyOn(logger, "info");
    const socket = await open(testApp.wsUrl, {
      authorization: `Bearer ${await token({ tenants: ["acme"], subject: "slow" })}`,
    });
    try {
      const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
      (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      const query = "{ __schema { types { name description fields { name description args { name description } } } } }";
      // Far more than the kernel's socket buffers hold: the rest waits in the server's buffer.
      for (let i = 0; i < 600 && socket.readyState === socket.OPEN; i++) {
        socket.send(JSON.stringify({ id: `q${i}`, type: "subscribe", payload: { query } }));
      }
      await expect
        .poll(() => info.mock.calls.some((call) => call[1] === "slow websocket reader closed"), { timeout: 60_000 })
        .toBe(true);
      (socket as unknown as { _socket: { resume(): void } })._socket.resume();
      expect(await closed).toBe(4008);
    } finally {
      info.mockRestore();
      socket.terminate();
    }
  }, 90_000);
});
