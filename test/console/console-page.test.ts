/**
 * The console in a real browser (headless Chromium, see browser.ts): a transfer sent from the
 * generated form shows its whole chain, every command reaching every stage; a refused command
 * shows its code; and the page asks nothing of any host but the server; on PGlite and on
 * PostgreSQL, one Chromium for both. Runs wherever a
 * Chromium is installed (.ci/run installs Debian's); CONSOLE_SCREENSHOT=<file> keeps a picture.
 */
import { describe, expect, it } from "vitest";
import { startTestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import {
  appForTests,
  type Browser,
  chromiumPath,
  openAdaAndBob,
  pageTest,
  printPageOnFailure,
  sharedBrowser,
} from "./browser.ts";

const DEADLINE = 60_000;

interface FormSend {
  mutation: string;
  fields: Record<string, string>;
  aggregateId: string;
  stage: string;
  chain: boolean;
}

/** Fills the generated send form as a person would, and sends. */
async function sendFromForm(browser: Browser, send: FormSend): Promise<void> {
  const { page } = browser;
  await page.selectOption("#mutation", send.mutation);
  for (const [field, value] of Object.entries(send.fields)) await page.fill(`#field-${field}`, value);
  await page.fill("#opt-aggregateId", send.aggregateId);
  await page.selectOption("#wait-stage", send.stage);
  await page.setChecked("#wait-chain", send.chain);
  await page.click("#send");
}

const browser = sharedBrowser();

describe.runIf(chromiumPath).each(engines)("the console in Chromium on %s", (engine) => {
  let origin: string;
  const t = appForTests(
    () => startTestApp(engine),
    async (started) => {
      origin = new URL(started.url).origin;
      await openAdaAndBob(started, "PROCESSED");
      browser.requests.length = 0;
      await browser.page.goto(`${origin}/console`);
      await browser.page
        .locator("#mutation option[value=prepareTransfer]")
        .waitFor({ state: "attached", timeout: DEADLINE });
    },
  );

  printPageOnFailure(browser);

  pageTest(
    browser,
    "sends a transfer from the form and shows every command of its chain reaching every stage",
    async (page) => {
      await sendFromForm(browser, {
        mutation: "prepareTransfer",
        fields: { transferId: "t-1", targetAccountId: "bob", amount: "2500" },
        aggregateId: "ada",
        stage: "SAGA_HANDLED",
        chain: true,
      });

      const answer = page.getByTestId("answer");
      await expect.poll(() => answer.getAttribute("data-succeeded"), { timeout: DEADLINE }).toBe("true");
      expect(await page.getByTestId("answer-code").textContent()).toBe("Ok");

      // The tree: the saga's entry on bob under the transfer, the confirmation on ada under the entry.
      const chain = page.getByTestId("chain");
      const prepare = chain.locator('.node[data-type="PrepareTransfer"]');
      const receive = prepare.locator('.node[data-type="ReceiveTransfer"]');
      const confirm = receive.locator('.node[data-type="ConfirmTransfer"]');
      for (const node of [prepare, receive, confirm]) {
        const ownStages = node.locator(":scope > .timeline [data-stage]");
        await expect
          .poll(() => ownStages.evaluateAll((els) => els.map((e) => `${e.dataset.stage}:${e.dataset.state}`)), {
            timeout: DEADLINE,
          })
          .toEqual(["SENT:ok", "PROCESSED:ok", "SNAPSHOT:ok", "PROJECTED:ok", "EVENT_HANDLED:ok", "SAGA_HANDLED:ok"]);
      }
      expect(await chain.locator(".node").count()).toBe(3);
      // Each processor's own signal is there too, e.g. the saga's on the transfer's SAGA_HANDLED.
      await expect
        .poll(
          () =>
            prepare.locator(':scope > .timeline [data-stage="SAGA_HANDLED"] [data-processor="TransferSaga"]').count(),
          {
            timeout: DEADLINE,
          },
        )
        .toBe(1);
      // The live list has all three commands.
      for (const type of ["PrepareTransfer", "ReceiveTransfer", "ConfirmTransfer"]) {
        await expect
          .poll(() => page.locator(`[data-testid="command-list"] [data-type="${type}"]`).count(), { timeout: DEADLINE })
          .toBe(1);
      }
      // The list's dots follow the results stream, so the picture shows them all reached.
      await expect
        .poll(() => page.locator('[data-testid="command-list"] .pill:not(.ok)').count(), { timeout: DEADLINE })
        .toBe(0);
      if (process.env.CONSOLE_SCREENSHOT && engine === "pglite")
        await page.screenshot({ path: process.env.CONSOLE_SCREENSHOT, fullPage: true });
    },
  );

  pageTest(browser, "shows a refused command's code, in the answer and on its timeline", async (page) => {
    await sendFromForm(browser, {
      mutation: "withdraw",
      fields: { amount: "1000000" },
      aggregateId: "bob",
      stage: "PROCESSED",
      chain: false,
    });

    await expect
      .poll(() => page.getByTestId("answer-code").textContent(), { timeout: DEADLINE })
      .toBe("INSUFFICIENT_BALANCE");
    expect(await page.getByTestId("answer").getAttribute("data-succeeded")).toBe("false");
    const node = page.getByTestId("chain").locator('.node[data-type="Withdraw"]');
    const processed = node.locator(':scope > .timeline [data-stage="PROCESSED"]');
    await expect.poll(() => processed.getAttribute("data-state"), { timeout: DEADLINE }).toBe("failed");
    expect(await processed.getByTestId("error-code").textContent()).toBe("INSUFFICIENT_BALANCE");
    expect(await node.locator(':scope > .timeline [data-stage="PROJECTED"]').getAttribute("data-state")).toBe(
      "skipped",
    );
  });

  it("asks nothing of any host but the server", async () => {
    const { requests } = browser;
    // The recording works: the page's modules, its queries and its WebSocket are all in it.
    expect(requests).toContain(`${origin}/console/vendor/preact.js`);
    expect(requests).toContain(`${origin}/graphql`);
    expect(requests).toContain(`${origin.replace(/^http/, "ws")}/graphql`);
    // A blob: URL names the page's own origin (`blob:http://host/uuid`: an object the page made,
    // e.g. GraphiQL's editor workers); data: URLs name no host at all.
    const outside = requests.filter((url) => {
      const parsed = new URL(url);
      if (parsed.protocol === "data:") return false;
      const { host } = parsed.protocol === "blob:" ? new URL(parsed.pathname) : parsed;
      return host !== new URL(origin).host;
    });
    expect(outside).toEqual([]);
  });

  pageTest(browser, "GraphiQL opens with the example operations instead of its welcome text", async (page) => {
    await page.goto(t.url);
    // The editor (Monaco) shows spaces as no-break spaces: compare words, not characters.
    const text = async () => (await page.locator("body").innerText()).replace(/\s+/g, " ");
    await expect.poll(text, { timeout: DEADLINE }).toContain("mutation OpenAda {");
    // One tab per example: the accounts, the transfer with its chain wait, the stages subscription.
    expect(await text()).toContain("OpenAda Transfer CommandStages");
    expect(await text()).not.toContain("in-browser tool");
  });
});
