/**
 * One Stageline instance as its own process, for the tests that SIGKILL it: banking plus an
 * event handler that records each event it handles (position, pid) in `handler_effects`, so a
 * test can count side effects across processes. Tells its parent the URL it serves. A deposit of
 * STALL_AMOUNT makes the handler tell its parent (`{ stalled: position }`) after its side effect
 * and wait a moment before returning, so the parent can SIGSTOP it with that batch in hand.
 */
import pg from "pg";
import { createApp } from "../../../src/app.ts";
import { loadConfig } from "../../../src/config.ts";
import { defineContext } from "../../../src/core/context.ts";
import { defineEventHandler } from "../../../src/core/processors.ts";
import { banking } from "../../../src/domains/banking/index.ts";

/** The deposit amount that makes the recorder stall (test/scaleout/stall.test.ts has the same value). */
const STALL_AMOUNT = 99;

const effects = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
const recorder = defineEventHandler({
  name: "Recorder",
  eventTypes: ["MoneyDeposited"],
  from: "beginning",
  async handle(event) {
    await effects.query("INSERT INTO handler_effects (position, pid) VALUES ($1, $2)", [
      event.position.toString(),
      process.pid,
    ]);
    if ((event.data as { amount: number }).amount === STALL_AMOUNT) {
      process.send?.({ stalled: event.position.toString() });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  },
});
const config = { ...loadConfig(process.env), port: 0, host: "127.0.0.1" };
const app = await createApp({
  config,
  contexts: [banking, defineContext({ name: "probe", aggregates: [], processors: [recorder] })],
});
const { url } = await app.start();
process.send?.({ url });
// SIGTERM: a graceful leave (leases released at once), as src/server.ts does.
process.once("SIGTERM", () => {
  void app
    .stop()
    .then(() => effects.end())
    .finally(() => process.exit(0));
});
