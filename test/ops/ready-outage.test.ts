/**
 * /ready turns false while PostgreSQL is down, and back to true when it returns, without a
 * restart; /metrics keeps answering meanwhile and says the database is down. Runs on its own
 * PostgreSQL server (stopping the shared one would break other suites). PGlite lives inside
 * the process: it cannot go away while the process lives, so this case is PostgreSQL's only.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { type RunningPostgres, startEmbeddedPostgres } from "../support/embedded-postgres.ts";
import { sample, scrape } from "./prometheus-text.ts";

describe("readiness during a database outage (PostgreSQL)", () => {
  let pg: RunningPostgres;
  let app: App;
  let base: string;
  beforeAll(async () => {
    pg = await startEmbeddedPostgres();
    const defaults = loadConfig({ NODE_ENV: "test" });
    app = await createApp({
      config: {
        ...defaults,
        databaseUrl: pg.url,
        port: 0,
        poolSize: 4,
        runner: { batchSize: 100, pollMs: 100, maxAttempts: 3, onPoison: "dead-letter" },
        ops: { ...defaults.ops, probeTimeoutMs: 1_000 },
      },
    });
    base = (await app.start()).url;
  });
  afterAll(async () => {
    await app?.stop();
    await pg?.stop();
  });

  const ready = async () => {
    const started = Date.now();
    const response = await fetch(new URL("/ready", base));
    const body = (await response.json()) as { ready: boolean; checks: { database: { ok: boolean; reason?: string } } };
    return { status: response.status, body, ms: Date.now() - started };
  };

  it("answers 503 promptly while the database is down and 200 once it is back", async () => {
    expect((await ready()).status).toBe(200);
    await pg.pause();
    try {
      const down = await ready();
      expect(down.status).toBe(503);
      expect(down.body.ready).toBe(false);
      expect(down.body.checks.database.ok).toBe(false);
      expect(down.body.checks.database.reason).toMatch(/database unreachable/);
      // Bounded by the probe timeout (1 s), never by the driver's own (5 s connect timeout).
      expect(down.ms).toBeLessThan(4_000);
      // The process itself is alive: liveness stays 200.
      expect((await fetch(new URL("/health", base))).status).toBe(200);
      const text = await scrape(base);
      expect(sample(text, "stageline_database_up")).toBe(0);
      expect(sample(text, "stageline_runner_lag_events", { processor: "banking.AccountView" })).toBeUndefined();
      expect(sample(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    } finally {
      await pg.resume();
    }
    await vi.waitFor(async () => expect((await ready()).status).toBe(200), { timeout: 20_000, interval: 200 });
    expect(sample(await scrape(base), "stageline_database_up")).toBe(1);
  });
});
