/**
 * Size and shape limits: the request body (declared or chunked), and the GraphQL document's
 * depth, cost, aliases, directives and tokens — over HTTP and over graphql-ws. Each refused
 * request gets its stable code and stores nothing; a request just under a limit still works.
 * The limits are the configuration's defaults (GRAPHQL_MAX_*, MAX_BODY_BYTES).
 */
import { request as httpRequest } from "node:http";
import type { Client as WsClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { loadConfig } from "../../src/config.ts";
import {
  expectNothingStoredByEachTest,
  type GraphQLResponse,
  storedCounts,
  useTestApp,
  wsClientOf,
} from "../support/app.ts";
import { engines } from "../support/databases.ts";

const { queryLimits: limits, maxBodyBytes } = loadConfig({ NODE_ENV: "test" });

const codesOf = (json: GraphQLResponse) => (json.errors ?? []).map((e) => e.extensions?.code);

/** A query `levels` selection sets deep, through the introspection type's `ofType`. */
const deepQuery = (levels: number) =>
  `{ __type(name: "Query") { ${"ofType { ".repeat(levels - 2)}name${" }".repeat(levels - 2)} } }`;

const createAccount = (name: string, selection = "id") => `createAccount(input: { name: "${name}" }) { ${selection} }`;

/** `count` aliased createAccount mutations in one document. */
const aliasedMutations = (count: number) =>
  `mutation { ${Array.from({ length: count }, (_, i) => `a${i}: ${createAccount(`alias ${i}`)}`).join(" ")} }`;

/**
 * A fragment bomb: each fragment spreads the one below ten times, so the document is a few
 * lines long and expands to 10^levels fields.
 */
const fragmentBomb = (levels: number) => {
  const fragments = ["fragment F0 on CommandResult { id commandId stage }"];
  for (let i = 1; i <= levels; i++) fragments.push(`fragment F${i} on CommandResult { ${`...F${i - 1} `.repeat(10)}}`);
  return `mutation { ${createAccount("bomb", `...F${levels}`)} } ${fragments.join(" ")}`;
};

/** Both pages of accounts at the largest page size, every field: a wide, costly read. */
const widePages = (first: number) => {
  const page = `accounts(first: ${first}) {
    edges { cursor node { id name balance locked available status version updatedAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }`;
  return `{ a: ${page} b: ${page} }`;
};

/** POSTs `body` with Transfer-Encoding: chunked (no Content-Length), in 64 KiB chunks. */
function postChunked(url: string, body: string): Promise<{ status: number; json: GraphQLResponse }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as GraphQLResponse }));
    });
    // The server may answer (and close) before the whole body is sent: that is the point.
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE" && error.code !== "ECONNRESET") reject(error);
    });
    const bytes = Buffer.from(body);
    for (let offset = 0; offset < bytes.length; offset += 65_536) req.write(bytes.subarray(offset, offset + 65_536));
    req.end();
  });
}

describe.each(engines)("size and shape limits on %s", (engine) => {
  const testApp = useTestApp(engine);
  const send = (query: string, variables: Record<string, unknown> = {}) => testApp.post({ query, variables });

  describe("over HTTP, refused before anything is stored", () => {
    expectNothingStoredByEachTest(testApp);

    it("a chunked body over MAX_BODY_BYTES: 413 PAYLOAD_TOO_LARGE, counted as it streams", async () => {
      const name = "x".repeat(maxBodyBytes);
      const { status, json } = await postChunked(
        testApp.url,
        JSON.stringify({ query: `mutation { ${createAccount(name)} }` }),
      );
      expect(status).toBe(413);
      expect(codesOf(json)).toEqual(["PAYLOAD_TOO_LARGE"]);
      expect(json.errors![0]!.message).toContain(String(maxBodyBytes));
    });

    it(`a query deeper than GRAPHQL_MAX_DEPTH (${limits.maxDepth}): QUERY_TOO_DEEP`, async () => {
      const { json } = await send(deepQuery(limits.maxDepth + 1));
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json)).toEqual(["QUERY_TOO_DEEP"]);
      expect(json.errors![0]!.message).toBe(
        `Query depth limit of ${limits.maxDepth} exceeded, found ${limits.maxDepth + 1}.`,
      );
    });

    it(`a wide, costly query over GRAPHQL_MAX_COST (${limits.maxCost}): QUERY_TOO_COSTLY`, async () => {
      const { json } = await send(widePages(100));
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json)).toEqual(["QUERY_TOO_COSTLY"]);
      expect(json.errors![0]!.message).toMatch(
        new RegExp(`^Query Cost limit of ${limits.maxCost} exceeded, found \\d+`),
      );
    });

    it("a fragment bomb: QUERY_TOO_COSTLY, and the mutation in it never runs", async () => {
      const { json } = await send(fragmentBomb(3));
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json)).toEqual(["QUERY_TOO_COSTLY"]);
    });

    it(`an alias bomb of mutations over GRAPHQL_MAX_ALIASES (${limits.maxAliases}): TOO_MANY_ALIASES`, async () => {
      const { json } = await send(aliasedMutations(limits.maxAliases + 1));
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json)).toEqual(["TOO_MANY_ALIASES"]);
      expect(json.errors![0]!.message).toContain(String(limits.maxAliases));
    });

    it(`more directives than GRAPHQL_MAX_DIRECTIVES (${limits.maxDirectives}): TOO_MANY_DIRECTIVES`, async () => {
      const directives = " @include(if: true)".repeat(limits.maxDirectives + 1);
      const { json } = await send(`mutation { createAccount(input: { name: "d" }) ${directives} { id } }`);
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json)).toEqual(["TOO_MANY_DIRECTIVES"]);
    });

    it(`a document of more than GRAPHQL_MAX_TOKENS (${limits.maxTokens}) tokens: TOO_MANY_TOKENS`, async () => {
      const { json } = await send(`mutation { ${createAccount("t", "id ".repeat(limits.maxTokens))} }`);
      expect(json.data ?? null).toBeNull();
      expect(codesOf(json)).toEqual(["TOO_MANY_TOKENS"]);
      expect(json.errors![0]!.message).toBe(`Token limit of ${limits.maxTokens} exceeded.`);
    });
  });

  describe("just under the limits, answered", () => {
    it("a chunked body within MAX_BODY_BYTES is read and executed", async () => {
      const counts = await storedCounts(testApp);
      const { status, json } = await postChunked(
        testApp.url,
        JSON.stringify({
          query: `mutation { ${createAccount("chunked", "succeeded")} }`,
          variables: { padding: "x".repeat(200_000) },
        }),
      );
      expect(status).toBe(200);
      expect(json).toEqual({ data: { createAccount: { succeeded: true } } });
      expect((await storedCounts(testApp)).commands).toBe(counts.commands + 1);
    });

    it("a query exactly GRAPHQL_MAX_DEPTH deep, a page of 20, and exactly GRAPHQL_MAX_ALIASES aliases", async () => {
      const deep = await send(deepQuery(limits.maxDepth));
      expect(deep.json.errors).toBeUndefined();
      expect(deep.json.data?.__type).toMatchObject({ ofType: null });

      const page = await send(widePages(20));
      expect(page.json.errors).toBeUndefined();

      const counts = await storedCounts(testApp);
      const aliased = await send(aliasedMutations(limits.maxAliases));
      expect(aliased.json.errors).toBeUndefined();
      expect(Object.keys(aliased.json.data ?? {})).toHaveLength(limits.maxAliases);
      expect((await storedCounts(testApp)).commands).toBe(counts.commands + limits.maxAliases);
    });
  });

  describe("over graphql-ws: the same limits, and the socket stays open", () => {
    let client: WsClient;
    let closed = 0;
    beforeAll(() => {
      client = wsClientOf(testApp, {
        lazy: false,
        on: { closed: () => closed++ },
      });
    });
    afterAll(async () => {
      await client?.dispose();
    });

    /** The errors one operation ends with (graphql-ws reports validation errors through `error`). */
    const errorsOf = (query: string) =>
      new Promise<unknown[]>((resolve) => {
        const errors: unknown[] = [];
        client.subscribe(
          { query },
          {
            next: (result) => errors.push(...(result.errors ?? [])),
            error: (error) => resolve(Array.isArray(error) ? error : [error]),
            complete: () => resolve(errors),
          },
        );
      });
    const codes = (errors: unknown[]) => errors.map((e) => (e as { extensions?: { code?: string } }).extensions?.code);

    it("depth, cost, aliases, directives and tokens are refused with their codes; nothing is stored", async () => {
      const counts = await storedCounts(testApp);
      expect(codes(await errorsOf(deepQuery(limits.maxDepth + 1)))).toEqual(["QUERY_TOO_DEEP"]);
      expect(codes(await errorsOf(widePages(100)))).toEqual(["QUERY_TOO_COSTLY"]);
      expect(codes(await errorsOf(fragmentBomb(3)))).toEqual(["QUERY_TOO_COSTLY"]);
      expect(codes(await errorsOf(aliasedMutations(limits.maxAliases + 1)))).toEqual(["TOO_MANY_ALIASES"]);
      const directives = " @include(if: true)".repeat(limits.maxDirectives + 1);
      expect(codes(await errorsOf(`{ __typename ${directives} }`))).toEqual(["TOO_MANY_DIRECTIVES"]);
      expect(codes(await errorsOf(`{ ${"__typename ".repeat(limits.maxTokens)} }`))).toEqual(["TOO_MANY_TOKENS"]);
      expect(await storedCounts(testApp)).toEqual(counts);

      expect(await errorsOf(deepQuery(limits.maxDepth))).toEqual([]);
      expect(closed).toBe(0);
    });

    it("a message over MAX_BODY_BYTES closes that socket with 1009 (message too big)", async () => {
      const socket = new WebSocket(testApp.wsUrl, "graphql-transport-ws");
      await new Promise((resolve) => socket.once("open", resolve));
      const closing = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
      socket.send(JSON.stringify({ type: "connection_init", payload: { padding: "x".repeat(maxBodyBytes) } }));
      expect(await closing).toBe(1009);
    });
  });
});
