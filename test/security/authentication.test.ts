/**
 * Authentication and tenants from credentials (issue 13, items 1–3), on both engines and every
 * transport: HTTP, graphql-ws and SSE. Each refused call gets its expected answer and stores
 * nothing; a subscription ends when its token expires; admin operations need the admin role.
 *
 * Catches (each verified by removing it):
 * - the authenticate call in httpCaller (src/graphql/plugins/auth-context.ts): every HTTP refusal
 *   below turns into a success;
 * - the grant check in chooseTenant (src/auth/principal.ts): the other-tenant rows fail;
 * - `authScopes: { admin: true }` in src/graphql/admin-api.ts: the teller's rebuild is no longer FORBIDDEN;
 * - useCredentialExpiry (auth-context.ts): the expiring subscriptions never end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyStore } from "../../src/store/api-key-store.ts";
import { CREATE_ACCOUNT, RESULT_FIELDS, startTestApp, storedCounts, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import {
  bearer,
  codesOf,
  connectWs,
  runOnSocket,
  securityConfig,
  startSecureApp,
  subscribeOverSse,
  token,
} from "./support.ts";

const RESULTS_SO_FAR = "query Results($id: ID!) { commandResults(commandId: $id) { commandId stage } }";
const ACCOUNT = "query Account($id: ID!) { accountState(id: $id) { id balance } }";
const REBUILD = 'mutation { rebuildProjection(projection: "banking.AccountView") { projection state } }';
const REBUILD_QUERY = 'query { projectionRebuild(projection: "banking.AccountView") { state } }';
const REBUILD_WATCH = 'subscription { projectionRebuild(projection: "banking.AccountView") { state } }';
const WATCH_LONG = `subscription Watch($id: ID!) {
  commandResults(commandId: $id, until: { stage: SAGA_HANDLED, timeoutMs: 60000 }) { ${RESULT_FIELDS} }
}`;
const WATCH_PROCESSED = `subscription Watch($id: ID!) {
  commandResults(commandId: $id, until: { stage: PROCESSED }) { stage succeeded }
}`;

describe.each(engines)("authentication and tenants from credentials, on %s", (engine) => {
  let testApp: TestApp;
  let tellerToken: string;
  let apiKey: string;
  let revokedKey: string;
  let ownCommandId: string;
  let pendingCommandId: string;

  const create = (headers: Record<string, string>, id: string, command: Record<string, unknown> = {}) =>
    testApp.post(
      {
        query: CREATE_ACCOUNT,
        variables: { name: id, command: { aggregateId: id, waitFor: { stage: "PROCESSED" }, ...command } },
      },
      headers,
    );

  beforeAll(async () => {
    // Workers off: an async command stays SENT, so a subscription on it stays open for as long as a test needs.
    testApp = await startSecureApp(engine, securityConfig(), {}, { workers: false });
    tellerToken = await token({ tenants: ["acme"], roles: ["teller"] });
    const keys = new ApiKeyStore(testApp.db.sql);
    apiKey = (await keys.create({ tenants: ["acme"], roles: ["teller"] })).key;
    const revoked = await keys.create({ tenants: ["acme"], roles: ["teller", "admin"] });
    await keys.revoke(revoked.record.id);
    revokedKey = revoked.key;

    const own = await create(bearer(tellerToken), "ada");
    expect(own.json.errors).toBeUndefined();
    ownCommandId = (own.json.data!.createAccount as { commandId: string }).commandId;
    const pending = await create(bearer(tellerToken), "pending", { async: true, waitFor: null });
    pendingCommandId = (pending.json.data!.createAccount as { commandId: string }).commandId;
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  describe("over HTTP", () => {
    it("accepts a token and an API key in the tenant they grant", async () => {
      const viaToken = await create(bearer(tellerToken), "bob");
      expect(viaToken.json.data?.createAccount).toMatchObject({ succeeded: true, stage: "PROCESSED" });
      const viaKey = await create(bearer(apiKey), "cy");
      expect(viaKey.json.data?.createAccount).toMatchObject({ succeeded: true, stage: "PROCESSED" });
      const read = await testApp.post({ query: RESULTS_SO_FAR, variables: { id: ownCommandId } }, bearer(apiKey));
      expect(read.json.errors).toBeUndefined();
      const rows = await testApp.db.sql.query<{ tenant_id: string }>(
        "SELECT DISTINCT tenant_id FROM events WHERE aggregate_id IN ('bob', 'cy')",
      );
      expect(rows.map((r) => r.tenant_id)).toEqual(["acme"]);
    });

    it("acts in the tenant the header picks among those granted, the first one without a header", async () => {
      const both = await token({ tenants: ["acme", "beta"], roles: ["teller"] });
      await create({ ...bearer(both), "x-tenant-id": "beta" }, "in-beta");
      await create(bearer(both), "in-first");
      const rows = await testApp.db.sql.query<{ aggregate_id: string; tenant_id: string }>(
        "SELECT aggregate_id, tenant_id FROM events WHERE aggregate_id IN ('in-beta', 'in-first') ORDER BY aggregate_id",
      );
      expect(rows).toEqual([
        { aggregate_id: "in-beta", tenant_id: "beta" },
        { aggregate_id: "in-first", tenant_id: "acme" },
      ]);
    });

    const refusals: [string, () => Promise<Record<string, string>>, number, string][] = [
      ["no credential", async () => ({}), 401, "UNAUTHENTICATED"],
      ["a malformed header", async () => ({ authorization: "Basic YTpi" }), 401, "UNAUTHENTICATED"],
      [
        "an expired token",
        async () => bearer(await token({ tenants: ["acme"], expiresIn: -120 })),
        401,
        "UNAUTHENTICATED",
      ],
      [
        "a token for another audience",
        async () => bearer(await token({ tenants: ["acme"], audience: "elsewhere" })),
        401,
        "UNAUTHENTICATED",
      ],
      [
        "a token signed with another secret",
        async () => bearer(await token({ tenants: ["acme"], secret: "x".repeat(40) })),
        401,
        "UNAUTHENTICATED",
      ],
      ["a revoked API key", async () => bearer(revokedKey), 401, "UNAUTHENTICATED"],
      // The last character changed for another (a fixed replacement equals it one time in 64).
      ["a mistyped API key", async () => bearer(mistyped(apiKey)), 401, "UNAUTHENTICATED"],
      [
        "another tenant in x-tenant-id",
        async () => ({ ...bearer(tellerToken), "x-tenant-id": "beta" }),
        403,
        "FORBIDDEN",
      ],
      ["an API key with another tenant", async () => ({ ...bearer(apiKey), "x-tenant-id": "beta" }), 403, "FORBIDDEN"],
    ];

    it.each(refusals)(
      "refuses %s on a mutation and queries, storing nothing",
      async (_case, headersOf, status, code) => {
        const headers = await headersOf();
        const before = await storedCounts(testApp);
        const mutation = await create(headers, `refused-${status}`);
        expect([mutation.status, codesOf(mutation.json.errors)]).toEqual([status, [code]]);
        expect(mutation.json.data ?? null).toBeNull();
        for (const [query, variables] of [
          [ACCOUNT, { id: "ada" }],
          [RESULTS_SO_FAR, { id: ownCommandId }],
          [REBUILD_QUERY, {}],
        ] as const) {
          const read = await testApp.post({ query, variables }, headers);
          expect([read.status, codesOf(read.json.errors)]).toEqual([status, [code]]);
        }
        expect(await storedCounts(testApp)).toEqual(before);
      },
    );

    it("admin operations need the admin role", async () => {
      for (const query of [REBUILD, REBUILD_QUERY]) {
        const teller = await testApp.post({ query }, bearer(tellerToken));
        expect(codesOf(teller.json.errors)).toEqual(["FORBIDDEN"]);
      }
      const admin = bearer(await token({ tenants: ["acme"], roles: ["admin"] }));
      const asked = await testApp.post({ query: REBUILD_QUERY }, admin);
      expect(asked.json.errors).toBeUndefined();
      const rebuilt = await testApp.post({ query: REBUILD }, admin);
      expect(codesOf(rebuilt.json.errors)).not.toContain("FORBIDDEN");
      expect(rebuilt.json.data?.rebuildProjection).toMatchObject({ projection: "banking.AccountView" });
    });
  });

  describe("over graphql-ws", () => {
    it("refuses connection_init without a valid credential (4401) or with an ungranted tenant (4403)", async () => {
      const cases: [Record<string, unknown>, number][] = [
        [{}, 4401],
        [{ authorization: "Bearer nonsense" }, 4401],
        [{ authorization: `Bearer ${await token({ tenants: ["acme"], expiresIn: -120 })}` }, 4401],
        [{ authorization: `Bearer ${await token({ tenants: ["acme"], audience: "elsewhere" })}` }, 4401],
        [{ authorization: `Bearer ${revokedKey}` }, 4401],
        [{ authorization: `Bearer ${tellerToken}`, tenantId: "beta" }, 4403],
        [{ token: apiKey, tenantId: "beta" }, 4403],
      ];
      for (const [params, code] of cases) {
        const outcome = await connectWs(testApp.wsUrl, params);
        expect({ params, outcome }).toEqual({ params, outcome: { ack: false, closeCode: code } });
      }
    });

    it("runs operations for an admitted credential, in its tenant; admin ones need the role", async () => {
      const connected = await connectWs(testApp.wsUrl, { authorization: `Bearer ${tellerToken}` });
      if (!connected.ack) throw new Error(`refused: ${connected.closeCode}`);
      try {
        const own = await runOnSocket(connected.socket, WATCH_PROCESSED, { id: ownCommandId });
        expect(own.codes).toEqual([]);
        expect(own.data.length).toBeGreaterThan(0);
        const admin = await runOnSocket(connected.socket, REBUILD_WATCH);
        expect(admin.codes).toEqual(["FORBIDDEN"]);
        // The refusal failed that operation only: the socket goes on.
        const again = await runOnSocket(connected.socket, RESULTS_SO_FAR, { id: ownCommandId });
        expect(again.codes).toEqual([]);
      } finally {
        connected.socket.close();
      }
      const keyed = await connectWs(testApp.wsUrl, { token: apiKey });
      expect(keyed.ack).toBe(true);
      if (keyed.ack) keyed.socket.close();
    });

    it("ends a subscription when its token expires, and refuses new operations on that socket", async () => {
      const shortLived = await token({ tenants: ["acme"], roles: ["teller"], expiresIn: 3 });
      const connected = await connectWs(testApp.wsUrl, { authorization: `Bearer ${shortLived}` });
      if (!connected.ack) throw new Error(`refused: ${connected.closeCode}`);
      try {
        const watched = await runOnSocket(connected.socket, WATCH_LONG, { id: pendingCommandId });
        expect(watched.codes).toContain("UNAUTHENTICATED");
        const later = await runOnSocket(connected.socket, RESULTS_SO_FAR, { id: ownCommandId });
        expect(later.codes).toEqual(["UNAUTHENTICATED"]);
      } finally {
        connected.socket.close();
      }
    }, 30_000);
  });

  describe("over SSE", () => {
    it("refuses no credential and another tenant; streams for a valid one; ends at expiry", async () => {
      const none = await subscribeOverSse(testApp, WATCH_PROCESSED, { id: ownCommandId }, {});
      // Refused before the stream opens: graphql-sse reports the HTTP status.
      expect(none.status).toBe(401);
      const other = await subscribeOverSse(
        testApp,
        WATCH_PROCESSED,
        { id: ownCommandId },
        { ...bearer(tellerToken), "x-tenant-id": "beta" },
      );
      expect(other.status).toBe(403);
      const own = await subscribeOverSse(testApp, WATCH_PROCESSED, { id: ownCommandId }, bearer(tellerToken));
      expect(own.codes).toEqual([]);
      expect(own.data.length).toBeGreaterThan(0);
      const shortLived = await token({ tenants: ["acme"], roles: ["teller"], expiresIn: 3 });
      const expiring = await subscribeOverSse(testApp, WATCH_LONG, { id: pendingCommandId }, bearer(shortLived));
      expect(expiring.codes).toContain("UNAUTHENTICATED");
    }, 30_000);
  });
});

describe.each(engines)("authentication off (AUTH_MODE=none) keeps today's behaviour, on %s", (engine) => {
  it("takes the tenant from x-tenant-id and lets anyone run admin operations", async () => {
    const testApp = await startTestApp(engine);
    try {
      const created = await testApp.post(
        {
          query: CREATE_ACCOUNT,
          variables: { name: "Ada", command: { aggregateId: "ada", waitFor: { stage: "PROCESSED" } } },
        },
        { "x-tenant-id": "anyone" },
      );
      expect(created.json.data?.createAccount).toMatchObject({ succeeded: true });
      const rebuild = await testApp.post({ query: REBUILD_QUERY });
      expect(rebuild.json.errors).toBeUndefined();
    } finally {
      await testApp.stop();
    }
  });
});

/** The key with its last character replaced by a different one. */
function mistyped(key: string): string {
  return `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`;
}
