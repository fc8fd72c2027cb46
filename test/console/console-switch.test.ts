/**
 * CONSOLE turns the console page off (or on): on by default except in production, like
 * GraphiQL. Off, /console is not served at all (the GraphQL API, the console's fields included,
 * answers as before); on, the page comes with its Content-Security-Policy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { AUTH_ENV } from "../security/support.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

describe("the CONSOLE setting", () => {
  it("is on in development, off in production, and either when set", () => {
    expect(loadConfig({ NODE_ENV: "development" }).console).toBe(true);
    expect(loadConfig({ NODE_ENV: "development", CONSOLE: "false" }).console).toBe(false);
    expect(loadConfig({ ...AUTH_ENV, NODE_ENV: "production" }).console).toBe(false);
    expect(loadConfig({ ...AUTH_ENV, NODE_ENV: "production", CONSOLE: "true" }).console).toBe(true);
    expect(() => loadConfig({ CONSOLE: "yes" })).toThrow(/CONSOLE/);
  });
});

describe.each(engines)("the console page on %s", (engine) => {
  let on: TestApp;
  let off: TestApp;
  const page = (t: TestApp) => fetch(new URL("/console", t.url));

  beforeAll(async () => {
    [on, off] = await Promise.all([startTestApp(engine), startTestApp(engine, { console: false })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([on?.stop(), off?.stop()]);
  });

  it("is served with its Content-Security-Policy when on", async () => {
    const response = await page(on);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(await response.text()).toContain("<html");
  });

  it("is not served when off, while the console's GraphQL fields still answer", async () => {
    const response = await page(off);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain("<html");
    const { json } = await off.post({ query: "{ recentCommands { commandId } }" });
    expect(json).toEqual({ data: { recentCommands: [] } });
  });
});
