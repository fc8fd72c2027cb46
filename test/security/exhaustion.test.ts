/**
 * Operations per graphql-ws socket are capped (WS_MAX_OPERATIONS): past the cap a new operation
 * fails with TOO_MANY_OPERATIONS while the socket and its running operations go on; when one
 * completes there is room again. Both engines (the subscriptions wait on a stored command).
 *
 * Catches (verified by removing it): the tooManyOperations check in onSubscribe
 * (src/graphql/server.ts) — the operation past the cap runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREATE_ACCOUNT, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { connectWs, runOnSocket, securityConfig, startSecureApp } from "./support.ts";

const CAP = 3;
const WATCH = `subscription Watch($id: ID!) {
  commandResults(commandId: $id, until: { stage: SAGA_HANDLED, timeoutMs: 60000 }) { stage }
}`;

describe.each(engines)("operations per WebSocket, on %s", (engine) => {
  let testApp: TestApp;
  let pendingId: string;

  beforeAll(async () => {
    // Workers off: the async command stays SENT, so each subscription on it stays open.
    testApp = await startSecureApp(engine, securityConfig({ WS_MAX_OPERATIONS: String(CAP) }), {}, { workers: false });
    const { json } = await testApp.post({
      query: CREATE_ACCOUNT,
      variables: { name: "Ada", command: { aggregateId: "ada", async: true } },
    });
    pendingId = (json.data!.createAccount as { commandId: string }).commandId;
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  it("refuses the operation past the cap, keeps the others, and has room again after a complete", async () => {
    const connected = await connectWs(testApp.wsUrl, {});
    if (!connected.ack) throw new Error("refused");
    const { socket } = connected;
    try {
      const ids = Array.from({ length: CAP }, (_, i) => `long-${i}`);
      for (const id of ids) {
        socket.send(JSON.stringify({ id, type: "subscribe", payload: { query: WATCH, variables: { id: pendingId } } }));
      }
      // Each long subscription first replays the stage reached (SENT): once all have, all are running.
      const seen = new Set<string>();
      await new Promise<void>((resolve) => {
        socket.on("message", (raw) => {
          const message = JSON.parse(String(raw)) as { id?: string; type: string };
          if (message.type === "next" && message.id) seen.add(message.id);
          if (seen.size === CAP) resolve();
        });
      });
      const refused = await runOnSocket(socket, "{ __typename }");
      expect(refused.codes).toEqual(["TOO_MANY_OPERATIONS"]);
      expect(socket.readyState).toBe(socket.OPEN);

      socket.send(JSON.stringify({ id: ids[0], type: "complete" }));
      await expect
        .poll(async () => (await runOnSocket(socket, "{ __typename }")).codes, { timeout: 10_000 })
        .toEqual([]);
    } finally {
      socket.close();
    }
  });
});
