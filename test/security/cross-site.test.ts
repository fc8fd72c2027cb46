/**
 * Cross-site defences, which hold in every mode (here with authentication off, the quick
 * start's mode, where they matter most: a page the user opens can reach localhost):
 * - CORS: an Origin off the allow-list is not echoed (no credentials header); a listed one is;
 * - CSRF: form-urlencoded, multipart and text/plain POSTs are refused (415) and store nothing;
 * - WebSocket upgrades from a foreign Origin are refused (403); same origin and no Origin pass;
 * - introspection off (production default) on HTTP and on graphql-ws.
 *
 * Catches (each verified by removing it): corsFromAllowList in createYoga (Yoga's default echoes
 * any Origin); useJsonOnlyPosts (the form POST creates an account); verifyClient's
 * webSocketOriginCheck (the evil upgrade is acknowledged); useIntrospectionSwitch (`__schema`
 * answers on both transports).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storedCounts, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { codesOf, connectWs, runOnSocket, securityConfig, startSecureApp } from "./support.ts";

const ALLOWED = "https://app.example.com";
const EVIL = "https://evil.example";
const MUTATION =
  'mutation { createAccount(input: { name: "Mallory" }, command: { aggregateId: "mallory" }) { commandId } }';

describe.each(engines)("cross-site defences, on %s", (engine) => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startSecureApp(engine, securityConfig({ CORS_ORIGINS: ALLOWED, GRAPHQL_INTROSPECTION: "false" }));
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  it("echoes only an allowed Origin, on preflights and answers", async () => {
    const preflight = (origin: string) =>
      fetch(testApp.url, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type, x-tenant-id",
        },
      });
    const evil = await preflight(EVIL);
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    expect(evil.headers.get("access-control-allow-credentials")).toBeNull();
    const allowed = await preflight(ALLOWED);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(allowed.headers.get("access-control-allow-headers")).toContain("x-tenant-id");

    const answer = await fetch(testApp.url, {
      method: "POST",
      headers: { origin: EVIL, "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("refuses form, multipart and text/plain POSTs (a cross-site form) and stores nothing", async () => {
    const before = await storedCounts(testApp);
    const form = new URLSearchParams({ query: MUTATION });
    const multipart = new FormData();
    multipart.set("operations", JSON.stringify({ query: MUTATION }));
    multipart.set("map", "{}");
    const bodies: [string, RequestInit][] = [
      ["urlencoded", { body: form }],
      ["multipart", { body: multipart }],
      ["text/plain", { body: JSON.stringify({ query: MUTATION }), headers: { "content-type": "text/plain" } }],
    ];
    for (const [kind, init] of bodies) {
      const response = await fetch(testApp.url, {
        method: "POST",
        ...init,
        headers: { origin: EVIL, ...init.headers },
      });
      const json = (await response.json()) as { errors?: { extensions?: Record<string, unknown>; message: string }[] };
      expect({ kind, status: response.status, codes: codesOf(json.errors) }).toEqual({
        kind,
        status: 415,
        codes: ["UNSUPPORTED_MEDIA_TYPE"],
      });
    }
    expect(await storedCounts(testApp)).toEqual(before);
    // A JSON body still works.
    const ok = await testApp.post({ query: "{ __typename }" });
    expect(ok.status).toBe(200);
  });

  it("refuses a WebSocket upgrade from a foreign Origin; same origin, listed and absent Origins pass", async () => {
    const evil = await connectWs(testApp.wsUrl, {}, { origin: EVIL });
    expect(evil).toMatchObject({ ack: false, status: 403 });
    const own = new URL(testApp.url).origin;
    for (const headers of [{ origin: own }, { origin: ALLOWED }, {}] as Record<string, string>[]) {
      const admitted = await connectWs(testApp.wsUrl, {}, headers);
      expect({ headers, ack: admitted.ack }).toEqual({ headers, ack: true });
      if (admitted.ack) admitted.socket.close();
    }
  });

  it("refuses introspection on HTTP and on graphql-ws when it is off; __typename still answers", async () => {
    const http = await testApp.post({ query: "{ __schema { queryType { name } } }" });
    // graphql-js reports each introspection field it meets (here __schema and queryType).
    expect(new Set(codesOf(http.json.errors))).toEqual(new Set(["GRAPHQL_VALIDATION_FAILED"]));
    expect(http.json.data ?? null).toBeNull();
    const connected = await connectWs(testApp.wsUrl, {});
    if (!connected.ack) throw new Error("refused");
    try {
      const ws = await runOnSocket(connected.socket, '{ __type(name: "Query") { name } }');
      expect(ws).toEqual({ data: [], codes: ["GRAPHQL_VALIDATION_FAILED"] });
      const typename = await runOnSocket(connected.socket, "{ __typename }");
      expect(typename).toEqual({ data: [{ __typename: "Query" }], codes: [] });
    } finally {
      connected.socket.close();
    }
  });
});
