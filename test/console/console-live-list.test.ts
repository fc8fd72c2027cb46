/**
 * The console's command list is live, not polled (headless Chromium, see browser.ts): a transfer
 * sent through GraphQL outside the page shows up in the list with all three commands of its
 * chain, and their dots reach the last stage, while the page reads `recentCommands` once (when
 * its socket connected) and never again; new commands come by `commandsSent`, progress by one
 * `recentCommandResults` subscription. When its socket drops and comes back, the page reads the
 * list once more, and what was sent meanwhile shows. Every request the page sends is watched: its
 * HTTP bodies and its WebSocket frames (the socket passes through a Playwright route, which can
 * also drop it). On PGlite and on PostgreSQL.
 */
import type { WebSocketRoute } from "playwright-core";
import { describe, expect } from "vitest";
import { startTestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { appForTests, chromiumPath, openAdaAndBob, pageTest, sharedBrowser } from "./browser.ts";

const DEADLINE = 60_000;
const ALL_OK = ["ok", "ok", "ok", "ok", "ok", "ok"];

/** What the page sent: HTTP request bodies to /graphql and WebSocket frames. */
const sent: { http: string[]; frames: string[] } = { http: [], frames: [] };
/** The page's WebSocket connections, passed through to the server; closing both ends drops one as a network would. */
const sockets: { page: WebSocketRoute; server: WebSocketRoute }[] = [];
const browser = sharedBrowser(async ({ page }) => {
  page.on("request", (request) => {
    if (request.method() === "POST" && new URL(request.url()).pathname === "/graphql")
      sent.http.push(request.postData() ?? "");
  });
  await page.routeWebSocket(/\/graphql$/, (socket) => {
    const server = socket.connectToServer();
    socket.onMessage((message) => {
      sent.frames.push(String(message));
      server.send(message);
    });
    server.onMessage((message) => socket.send(message));
    socket.onClose(() => server.close());
    server.onClose(() => socket.close());
    sockets.push({ page: socket, server });
  });
});

/** The page's reads of the list: the query, not the results subscription (recentCommandResults). */
const listReads = () => [...sent.http, ...sent.frames].filter((body) => body.includes("recentCommands")).length;

describe.runIf(chromiumPath).each(engines)("the console's live command list in Chromium on %s", (engine) => {
  const t = appForTests(
    () => startTestApp(engine),
    (started) => openAdaAndBob(started, "ALL"),
  );

  pageTest(
    browser,
    "shows a transfer sent elsewhere and its dots reaching the last stage, reading the list only once",
    async (page) => {
      sent.http.length = 0;
      sent.frames.length = 0;
      await page.goto(`${new URL(t.url).origin}/console`);
      const list = page.getByTestId("command-list");
      const pills = (type: string) =>
        list.locator(`[data-type="${type}"] .pill`).evaluateAll((els) => els.map((e) => e.classList[1]));
      // The first read shows the accounts opened before the page, every stage reached.
      await expect.poll(() => list.locator('[data-type="CreateAccount"]').count(), { timeout: DEADLINE }).toBe(2);
      await expect.poll(() => pills("CreateAccount"), { timeout: DEADLINE }).toEqual([...ALL_OK, ...ALL_OK]);
      expect(listReads()).toBe(1);
      // The page's two subscriptions are on the socket before anything is sent.
      await expect
        .poll(() => sent.frames.filter((f) => /commandsSent|recentCommandResults/.test(f)).length, {
          timeout: DEADLINE,
        })
        .toBe(2);

      // Sent by another client, answered at SENT: everything after that reaches the page live.
      const { json } = await t.post({
        query: `mutation($input: PrepareTransferInput!, $command: CommandOptions) {
          prepareTransfer(input: $input, command: $command) { commandId stage succeeded } }`,
        variables: {
          input: { transferId: "t-live", targetAccountId: "bob", amount: 2500 },
          command: { aggregateId: "ada", waitFor: { stage: "SENT" } },
        },
      });
      expect(json.errors).toBeUndefined();
      for (const type of ["PrepareTransfer", "ReceiveTransfer", "ConfirmTransfer"]) {
        await expect.poll(() => pills(type), { timeout: DEADLINE }).toEqual(ALL_OK);
      }
      expect(await list.locator(".command").count()).toBe(5);
      expect(listReads()).toBe(1);
      expect(await page.getByTestId("error").count()).toBe(0);
    },
  );

  pageTest(
    browser,
    "reads the list once more when its socket comes back, showing what was sent while it was away",
    async (page) => {
      const list = page.getByTestId("command-list");
      const reads = listReads();
      const open = sockets.length;
      // The network drops the socket; a command is sent meanwhile, which no stream carried.
      // 1012 (service restart): a close graphql-ws reconnects after, as after a lost network.
      for (const { page: client, server } of sockets) {
        await server.close({ code: 1012, reason: "restart" }).catch(() => {});
        await client.close({ code: 1012, reason: "restart" }).catch(() => {});
      }
      const { json } = await t.post({
        query: `mutation { deposit(input: { amount: 7 }, command: { aggregateId: "bob" }) { commandId } }`,
      });
      expect(json.errors).toBeUndefined();
      // graphql-ws reconnects (after its back-off) and the page re-reads the list once.
      await expect.poll(() => sockets.length, { timeout: DEADLINE }).toBeGreaterThan(open);
      await expect
        .poll(() => list.locator('[data-type="Deposit"] .pill').evaluateAll((els) => els.map((e) => e.classList[1])), {
          timeout: DEADLINE,
        })
        .toEqual(ALL_OK);
      expect(listReads()).toBe(reads + 1);
    },
  );
});
