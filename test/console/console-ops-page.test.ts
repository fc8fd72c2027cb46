/**
 * The console's History and Processors tabs in a real browser (headless Chromium, see
 * browser.ts): an account's events and its state at any version (time travel); dead letters of a
 * failing event handler retried (refused while the handler still fails, taken once it works) and
 * discarded by clicks, the page and the store agreeing afterwards. On PGlite and on PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { defineContext } from "../../src/core/context.ts";
import { contexts } from "../../src/domains/index.ts";
import { accountCommand, FAST_RUNNER, startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";
import { switchableHandler } from "../support/switchable-handler.ts";
import { chromiumPath, pageTest, printPageOnFailure, sharedBrowser } from "./browser.ts";

const DEADLINE = 60_000;
const PICKY = "testing.Picky";

const browser = sharedBrowser();

describe.runIf(chromiumPath).each(engines)("the console's History and Processors tabs in Chromium on %s", (engine) => {
  let t: TestApp;
  let origin: string;
  /** While broken, the handler fails every deposit, so the runner parks them. */
  const picky = switchableHandler("Picky", ["MoneyDeposited"], "picky: not today");

  const send = (type: string, id: string, input: unknown) =>
    t.app.gateway.sendAndWait(accountCommand(type, id, input), { stage: "ALL" });

  beforeAll(async () => {
    t = await startTestApp(engine, { runner: FAST_RUNNER }, [
      ...contexts,
      defineContext({ name: "testing", aggregates: [], processors: [picky.handler] }),
    ]);
    origin = new URL(t.url).origin;
    expect((await send("CreateAccount", "ada", { name: "Ada", initialBalance: 10_000 })).succeeded).toBe(true);
    expect((await send("Deposit", "ada", { amount: 500 })).succeeded).toBe(true);
    expect((await send("Withdraw", "ada", { amount: 300 })).succeeded).toBe(true);
  }, 120_000);

  printPageOnFailure(browser);

  afterAll(async () => {
    await t?.stop();
  });

  pageTest(browser, "History shows an account's events and its state at any version", async (page) => {
    await page.goto(`${origin}/console`);
    await page.click('[data-tab="history"]');
    const history = page.getByTestId("history");
    await history.locator('select[aria-label="aggregate"] option[value="Account"]').waitFor({
      state: "attached",
      timeout: DEADLINE,
    });
    await history.locator('select[aria-label="aggregate"]').selectOption("Account");

    // An ID with no events says so.
    await history.locator('input[aria-label="aggregate ID"]').fill("nobody");
    await history.locator('button[type="submit"]').click();
    await expect.poll(() => history.innerText(), { timeout: DEADLINE }).toContain("Account nobody has no events.");

    await history.locator('input[aria-label="aggregate ID"]').fill("ada");
    await history.locator('button[type="submit"]').click();
    const events = history.getByTestId("events").locator("li");
    await expect
      .poll(() => events.evaluateAll((els) => els.map((e) => `${e.dataset.version} ${e.dataset.type}`)), {
        timeout: DEADLINE,
      })
      .toEqual(["1 AccountCreated", "2 MoneyDeposited", "3 MoneyWithdrawn"]);
    expect(await events.nth(1).locator("pre").innerText()).toBe('{"amount":500}');
    // Each event says which command caused it.
    expect(await events.nth(2).innerText()).toContain("Withdraw");

    // The state now (after the last event), then as it was after the first.
    const state = history.getByTestId("state");
    await expect.poll(() => state.getAttribute("data-version"), { timeout: DEADLINE }).toBe("3");
    expect(JSON.parse(await state.locator("pre").innerText())).toMatchObject({ name: "Ada", balance: 10_200 });
    await events.nth(0).locator("button").click();
    await expect.poll(() => state.getAttribute("data-version"), { timeout: DEADLINE }).toBe("1");
    expect(JSON.parse(await state.locator("pre").innerText())).toMatchObject({ name: "Ada", balance: 10_000 });
    expect(await events.nth(0).getAttribute("class")).toBe("selected");
    expect(await history.getByTestId("history-error").count()).toBe(0);
  });

  pageTest(
    browser,
    "Retry and Discard clear the dead letters of a failing handler, as the store shows",
    async (page) => {
      picky.broken = true;
      for (const amount of [111, 222]) {
        const parked = await t.app.gateway.sendAndWait(accountCommand("Deposit", "ada", { amount }), {
          stage: "EVENT_HANDLED",
        });
        // The deposit is fine; the handler's stage failed, and the runner parked the event.
        expect(parked).toMatchObject({ succeeded: false, errorCode: "PROCESSOR_FAILED" });
      }
      await waitUntil("both deposits parked", async () => (await t.app.runners.deadLetters.list(PICKY)).length === 2, {
        timeoutMs: DEADLINE,
      });
      const [retried, discarded] = (await t.app.runners.deadLetters.list(PICKY))
        .map((d) => d.position)
        .sort((a, b) => (a < b ? -1 : 1));
      if (retried === undefined || discarded === undefined) throw new Error("two dead letters expected");

      await page.goto(`${origin}/console`);
      await page.click('[data-tab="processors"]');
      const panel = page.getByTestId("processors");
      const letter = (position: bigint) => panel.locator(`[data-dead-letter="${PICKY}@${position}"]`);
      await letter(discarded).waitFor({ timeout: DEADLINE });
      await letter(retried).waitFor({ timeout: DEADLINE });
      expect(await letter(retried).innerText()).toContain("picky: not today");
      const deadCount = panel.locator(`tr[data-processor="${PICKY}"] td:nth-child(6)`);
      expect(await deadCount.innerText()).toBe("2");
      const note = panel.getByTestId("dead-letter-note");

      // Retried while the handler still fails: refused, and the letter stays.
      await letter(retried).getByRole("button", { name: "Retry" }).click();
      await expect.poll(() => note.innerText(), { timeout: DEADLINE }).toContain("DEAD_LETTER_RETRY_FAILED");
      expect(await letter(retried).count()).toBe(1);

      // The handler works again: the retry hands it the event, once, and the letter goes.
      picky.broken = false;
      await letter(retried).getByRole("button", { name: "Retry" }).click();
      await expect.poll(() => letter(retried).count(), { timeout: DEADLINE }).toBe(0);
      expect(await note.innerText()).toContain(`Retried ${PICKY} at ${retried}`);
      expect(picky.handled.filter((p) => p === retried)).toHaveLength(1);

      // Discarded: gone without the handler seeing it.
      await letter(discarded).getByRole("button", { name: "Discard" }).click();
      await expect.poll(() => letter(discarded).count(), { timeout: DEADLINE }).toBe(0);
      expect(await note.innerText()).toContain(`Discarded ${PICKY} at ${discarded}`);
      await expect.poll(() => deadCount.innerText(), { timeout: DEADLINE }).toBe("0");
      expect(await panel.innerText()).toContain("None.");

      expect(await t.app.runners.deadLetters.list(PICKY)).toEqual([]);
      expect(picky.handled).not.toContain(discarded);
    },
  );
});
