/**
 * A headless Chromium for the console's browser tests: Debian's `chromium` package (CHROMIUM_PATH,
 * else /usr/bin/chromium) driven by playwright-core, whose own browser download cannot work
 * offline. A fresh profile per launch; every request the page makes (HTTP and WebSocket) is
 * recorded so a test can prove it never leaves the server.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { accountCommand, type TestApp } from "../support/app.ts";

/** CHROMIUM_PATH when set (a wrong one fails the tests rather than skipping them), else Debian's if installed. */
export const chromiumPath: string | undefined =
  process.env.CHROMIUM_PATH || (existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined);

export interface Browser {
  page: Page;
  /** Every URL the page asked for, in order (WebSockets included). */
  requests: string[];
  close(): Promise<void>;
}

export async function openBrowser(executablePath: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "stageline-chromium-"));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1440, height: 1100 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const requests: string[] = [];
  context.on("request", (request) => requests.push(request.url()));
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("websocket", (socket) => requests.push(socket.url()));
  return {
    page,
    requests,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * One Chromium for all of a test file (starting it is the slow part): opened before the file's
 * tests when a Chromium is installed, then handed to `prepare`; closed after them. The returned
 * Browser reads through to the open one, so a test file can hold it as a constant.
 */
export function sharedBrowser(prepare?: (browser: Browser) => Promise<void>): Browser {
  const live = heldAroundTests(
    "Chromium",
    async () => (chromiumPath ? openBrowser(chromiumPath) : undefined),
    async (opened) => prepare?.(opened),
    (opened) => opened.close(),
    60_000,
  );
  return readThrough(live);
}

/** After a failed test, prints what the page showed: the text a person would have seen. */
export function printPageOnFailure(browser: Browser): void {
  afterEach(async (context) => {
    if (context.task.result?.state === "fail" && chromiumPath) {
      const shown = await Promise.resolve()
        .then(() => browser.page.locator("body").innerText({ timeout: 5_000 }))
        .catch(String);
      console.error(shown);
    }
  });
}

/** A browser test: `test` gets the shared page, with a few waits' worth of time on a loaded machine. */
export function pageTest(browser: Browser, name: string, test: (page: Page) => Promise<void>, timeout = 180_000): void {
  it(name, () => test(browser.page), timeout);
}

/** Opens the two accounts the console tests show: Ada with 10,000, Bob with nothing; each reaching `stage`. */
export async function openAdaAndBob(t: TestApp, stage: "ALL" | "PROCESSED"): Promise<void> {
  const open = (name: string, id: string, initialBalance: number) =>
    t.app.gateway.sendAndWait(accountCommand("CreateAccount", id, { name, initialBalance }), { stage });
  expect((await open("Ada", "ada", 10_000)).succeeded).toBe(true);
  expect((await open("Bob", "bob", 0)).succeeded).toBe(true);
}

/**
 * The test app of one engine's tests: started, then handed to `prepare`, before them; stopped
 * after. Read through like sharedBrowser's, so the describe can hold it as a constant.
 */
export function appForTests(start: () => Promise<TestApp>, prepare?: (t: TestApp) => Promise<void>): TestApp {
  const live = heldAroundTests(
    "the test app",
    start,
    async (started) => prepare?.(started),
    (started) => started.stop(),
    120_000,
  );
  return readThrough(live);
}

/**
 * Opens something before the tests around it (undefined: nothing to open), then prepares it;
 * closes it after them, even when preparing failed. The getter reads the open one.
 */
function heldAroundTests<T>(
  what: string,
  open: () => Promise<T | undefined>,
  prepare: (held: T) => Promise<void>,
  close: (held: T) => Promise<void>,
  timeout: number,
): () => T {
  let held: T | undefined;
  beforeAll(async () => {
    held = await open();
    if (held) await prepare(held);
  }, timeout);
  afterAll(async () => {
    if (held) await close(held);
  });
  return () => {
    if (!held) throw new Error(`${what} is not open`);
    return held;
  };
}

/** An object whose every property is read from `live()` when it is read: for what opens only once the tests start. */
function readThrough<T extends object>(live: () => T): T {
  return new Proxy({} as T, {
    get(_, key) {
      const target = live();
      const value: unknown = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
