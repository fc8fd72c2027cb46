/**
 * Log context: every line a request's work writes names the request (the client's x-request-id,
 * echoed, or a generated one), the tenant and the command, without the call site passing them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type App, createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";
import { runOnSocket } from "../security/support.ts";
import { useTestDatabase } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";

const CREATE = `mutation($name: String!) {
  createAccount(input: { name: $name }, command: { waitFor: { stage: PROCESSED } }) { commandId succeeded }
}`;

describe("log lines of a request's work", () => {
  const lines: Record<string, unknown>[] = [];
  let app: App;
  const db = useTestDatabase("pglite");
  let url: string;
  beforeAll(async () => {
    const logger = createLogger({
      level: "debug",
      destination: { write: (line: string) => lines.push(JSON.parse(line)) },
    });
    const config = { ...loadConfig({ NODE_ENV: "test" }), port: 0, host: "127.0.0.1" };
    app = await createApp({ config, database: db, logger });
    ({ url } = await app.start());
  });
  afterAll(async () => {
    await app?.stop();
  });

  const send = async (name: string, headers: Record<string, string>) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ query: CREATE, variables: { name } }),
    });
    const body = (await response.json()) as { data: { createAccount: { commandId: string; succeeded: boolean } } };
    expect(body.data.createAccount.succeeded).toBe(true);
    return { requestId: response.headers.get("x-request-id"), commandId: body.data.createAccount.commandId };
  };

  // Catches: the mixin removed, the request ID or tenant not put in the context (each seen to fail).
  it("carry the request ID, the tenant and the command ID", async () => {
    const { requestId, commandId } = await send("logged", { "x-request-id": "req-logs-1", "x-tenant-id": "acme" });
    expect(requestId).toBe("req-logs-1");
    const sent = lines.find((l) => l.msg === "command sent" && l.commandId === commandId);
    expect(sent).toMatchObject({ reqId: "req-logs-1", tenantId: "acme", commandId, level: 20 });
  });

  it("get a generated request ID when the client sends none (or an unusable one), echoed in the response", async () => {
    const { requestId, commandId } = await send("generated", { "x-request-id": "bad id with spaces" });
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const sent = lines.find((l) => l.msg === "command sent" && l.commandId === commandId);
    expect(sent).toMatchObject({ reqId: requestId, tenantId: "default" });
  });

  // Catches: the log context around graphql-ws messages in src/graphql/plugins/ws-transport.ts
  // removed (the lines then carry no reqId), or one ID for every operation of a socket.
  it("on graphql-ws, name the socket (x-request-id of the upgrade, echoed) and each operation", async () => {
    const socket = new WebSocket(url.replace(/^http/, "ws"), "graphql-transport-ws", {
      headers: { "x-request-id": "req-ws-1" },
    });
    const echoed = new Promise<string | undefined>((resolve) =>
      socket.once("upgrade", (res) => resolve(res.headers["x-request-id"] as string | undefined)),
    );
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () =>
        socket.send(JSON.stringify({ type: "connection_init", payload: { tenantId: "acme" } })),
      );
      socket.on("message", (raw) => {
        if (JSON.parse(String(raw)).type === "connection_ack") resolve();
      });
      socket.once("error", reject);
    });
    try {
      expect(await echoed).toBe("req-ws-1");
      const ids: string[] = [];
      for (const name of ["ws-one", "ws-two"]) {
        const outcome = await runOnSocket(socket, CREATE, { name });
        const data = outcome.data[0] as { createAccount: { commandId: string } };
        ids.push(data.createAccount.commandId);
      }
      const sentOf = (id: string) => lines.find((l) => l.msg === "command sent" && l.commandId === id);
      await waitUntil("both commands logged", () => ids.every((id) => sentOf(id)), { timeoutMs: 10_000 });
      const sentLines = ids.map((id) => sentOf(id)!);
      for (const line of sentLines) {
        expect(line).toMatchObject({ tenantId: "acme", reqId: expect.stringMatching(/^req-ws-1\/.+/) });
      }
      expect(sentLines[0]!.reqId).not.toBe(sentLines[1]!.reqId);
    } finally {
      socket.close();
    }
  });
});
