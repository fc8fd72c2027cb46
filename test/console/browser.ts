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
