/**
 * GraphiQL is served from an installed package: the page must work without the internet, so
 * no script or stylesheet may be loaded from an http(s) URL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";

const TAG_URL = /<(script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']?([^"' >]+)/gi;

describe("GraphiQL", () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await startTestApp("pglite", { graphiql: true });
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  it("serves the GraphiQL page on GET /graphql with nothing loaded from the network", async () => {
    const response = await fetch(testApp.url, { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).toContain("Stageline");

    const urls = [...html.matchAll(TAG_URL)].map((m) => m[2]!);
    expect(urls.filter((url) => /^(https?:)?\/\//i.test(url))).toEqual([]);
    expect(html).not.toMatch(/unpkg\.com|cdn\.jsdelivr\.net|esm\.sh|fonts\.googleapis\.com/i);
  });

  it("still answers GraphQL requests on the same path", async () => {
    const { status, json } = await testApp.post({ query: "{ __typename }" });
    expect(status).toBe(200);
    expect(json).toEqual({ data: { __typename: "Query" } });
  });
});
