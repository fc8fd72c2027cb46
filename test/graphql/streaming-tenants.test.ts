/**
 * Bad tenants on the streaming transports, through the real clients: graphql-ws refuses them at
 * connection_init (close 4403 with the reason, never acknowledged, never the default tenant),
 * and over SSE the graphql-sse client sees the INVALID_TENANT error itself, not a bare network
 * error. Nothing is stored either way.
 */
import { createClient as createSseClient } from "graphql-sse";
import { describe, expect, it } from "vitest";
import { storedCounts, useTestApp, wsClientOf } from "../support/app.ts";
import { engines } from "../support/databases.ts";

const CREATE = 'mutation { createAccount(input: { name: "t" }, command: { aggregateId: "tenant-probe" }) { id } }';

describe.each(engines)("bad tenants on graphql-ws and SSE, on %s", (engine) => {
  const testApp = useTestApp(engine);

  /** Connects with these connectionParams and sends a mutation; what happened to the socket. */
  async function connectWith(connectionParams: Record<string, unknown>) {
    let acknowledged = false;
    let closed: { code: number; reason: string } | undefined;
    const client = wsClientOf(testApp, {
      connectionParams,
      on: {
        connected: () => {
          acknowledged = true;
        },
        closed: (event) => {
          closed = event as { code: number; reason: string };
        },
      },
    });
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: CREATE }, { next: () => {}, error: resolve, complete: () => resolve("completed") });
    });
    await client.dispose();
    return { acknowledged, closed, outcome };
  }

  // Catches: removing onConnect's tenant check in src/graphql/server.ts (a non-string tenant is
  // then acknowledged as the default tenant and the mutation runs; a malformed one acknowledged).
  it("graphql-ws: a tenantId that is not a string, or malformed, is closed 4403 at connection_init", async () => {
    const before = await storedCounts(testApp);
    for (const tenantId of [42, ["a", "b"], { id: "default" }, true, "no spaces allowed", ""]) {
      const { acknowledged, closed, outcome } = await connectWith({ tenantId });
      expect(acknowledged, JSON.stringify(tenantId)).toBe(false);
      expect(closed?.code, JSON.stringify(tenantId)).toBe(4403);
      expect(closed?.reason).toMatch(/^INVALID_TENANT: connectionParams.tenantId must be/);
      expect(outcome).toMatchObject({ code: 4403 });
    }
    expect(await storedCounts(testApp)).toEqual(before);
  });

  it("graphql-ws: a valid tenantId, or none, is acknowledged", async () => {
    for (const connectionParams of [{ tenantId: "acme" }, {}]) {
      const client = wsClientOf(testApp, {
        connectionParams,
      });
      const result = await new Promise<unknown>((resolve, reject) => {
        client.subscribe({ query: "{ __typename }" }, { next: resolve, error: reject, complete: () => {} });
      });
      expect(result).toEqual({ data: { __typename: "Query" } });
      await client.dispose();
    }
  });

  // Catches: answering SSE requests with HTTP 400 (contextOrBadRequest's status), which the
  // client reports as a NetworkError with no code.
  it("SSE: a malformed x-tenant-id reaches the graphql-sse client as INVALID_TENANT", async () => {
    const before = await storedCounts(testApp);
    const client = createSseClient({
      url: testApp.url,
      singleConnection: false,
      retryAttempts: 0,
      headers: { "x-tenant-id": "no spaces allowed" },
    });
    const results: { errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }[] = [];
    try {
      for await (const result of client.iterate({ query: CREATE })) results.push(result);
    } finally {
      client.dispose();
    }
    expect(results).toHaveLength(1);
    expect(results[0]!.errors?.map((e) => e.extensions?.code)).toEqual(["INVALID_TENANT"]);
    expect(results[0]!.errors?.[0]?.message).toMatch(/x-tenant-id/);
    expect(await storedCounts(testApp)).toEqual(before);
  });

  it("HTTP (not SSE): a malformed x-tenant-id still answers 400 INVALID_TENANT", async () => {
    const { status, json } = await testApp.post({ query: CREATE }, { "x-tenant-id": "no spaces allowed" });
    expect(status).toBe(400);
    expect(json.errors?.map((e) => e.extensions?.code)).toEqual(["INVALID_TENANT"]);
  });
});
