/**
 * /health, /ready and /metrics on both engines: the metrics move by what was sent (commands by
 * outcome, stage latencies from SENT, runner lag, dead letters, the async queue, open streams),
 * and /ready turns false while a runner lags and true again once it has caught up.
 */
import { createClient } from "graphql-ws";
import { describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { DeadLetterStore } from "../../src/store/dead-letter-store.ts";
import { EventLog } from "../../src/store/event-log.ts";
import { accountCommand, FAST_RUNNER, useTestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { sample, scrape } from "./prometheus-text.ts";

const waitLong = { timeout: 20_000, interval: 50 };

interface ReadyBody {
  ready: boolean;
  checks: {
    database: { ok: boolean; reason?: string };
    migrations: { ok: boolean };
    runners: { ok: boolean; lagging?: { processor: string; eventsBehind: number }[] };
  };
}

async function ready(url: string): Promise<{ status: number; body: ReadyBody }> {
  const response = await fetch(new URL("/ready", url));
  return { status: response.status, body: (await response.json()) as ReadyBody };
}

describe.each(engines)("operations endpoints on %s", (engine) => {
  describe("a server whose runners run", () => {
    const t = useTestApp(engine, { runner: FAST_RUNNER });

    it("answers /health and /ready with 200 when the database is up, migrated and the runners caught up", async () => {
      const health = await fetch(new URL("/health", t.url));
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
      const { status, body } = await ready(t.url);
      expect(body).toEqual({
        ready: true,
        checks: { database: { ok: true }, migrations: { ok: true }, runners: { ok: true } },
      });
      expect(status).toBe(200);
    });

    // Catches the metrics counting processors' own signals as stages (verified: counts double).
    it("counts commands by outcome and error code, and times every stage from SENT, per command type", async () => {
      const { gateway } = t.app;
      for (const id of ["m-a", "m-b"]) {
        const created = await gateway.sendAndWait(
          accountCommand("CreateAccount", id, { name: id, initialBalance: 5 }),
          {
            stage: "ALL",
          },
        );
        expect(created.succeeded).toBe(true);
      }
      expect(
        (await gateway.sendAndWait(accountCommand("Deposit", "m-a", { amount: 3 }), { stage: "ALL" })).succeeded,
      ).toBe(true);
      const refused = await gateway.sendAndWait(accountCommand("Withdraw", "m-b", { amount: 500 }));
      expect(refused.errorCode).toBe("INSUFFICIENT_BALANCE");

      await vi.waitFor(async () => {
        const text = await scrape(t.url);
        const ok = { outcome: "succeeded", error_code: "Ok" };
        expect(sample(text, "stageline_commands_total", { command_type: "CreateAccount", ...ok })).toBe(2);
        expect(sample(text, "stageline_commands_total", { command_type: "Deposit", ...ok })).toBe(1);
        expect(
          sample(text, "stageline_commands_total", {
            command_type: "Withdraw",
            outcome: "rejected",
            error_code: "INSUFFICIENT_BALANCE",
          }),
        ).toBe(1);
        const count = (command_type: string, stage: string) =>
          sample(text, "stageline_command_stage_seconds_count", { command_type, stage });
        for (const stage of ["PROCESSED", "SNAPSHOT", "PROJECTED"]) expect(count("CreateAccount", stage)).toBe(2);
        for (const stage of ["PROCESSED", "SNAPSHOT", "PROJECTED"]) expect(count("Deposit", stage)).toBe(1);
        expect(count("Withdraw", "PROCESSED")).toBe(1);
        // Every observation falls in some bucket: the +Inf bucket equals the count.
        expect(
          sample(text, "stageline_command_stage_seconds_bucket", {
            command_type: "CreateAccount",
            stage: "PROJECTED",
            le: "+Inf",
          }),
        ).toBe(2);
        // Runners read the three events (two creations, one deposit) and are at the head.
        expect(sample(text, "stageline_runner_events_total", { processor: "banking.AccountView" })).toBe(3);
        expect(sample(text, "stageline_runner_lag_events", { processor: "banking.AccountView" })).toBe(0);
        expect(sample(text, "stageline_runner_lag_seconds", { processor: "banking.AccountView" })).toBe(0);
        expect(sample(text, "stageline_log_head_position")).toBeGreaterThanOrEqual(3);
        expect(sample(text, "stageline_database_up")).toBe(1);
        expect(sample(text, "stageline_dead_letters", { processor: "banking.AccountView" })).toBe(0);
      }, waitLong);
    });

    // Catches: a duplicate send not counted, batch durations not observed, the pool gauges absent
    // (each seen to fail).
    it("counts idempotency hits, times runner batches, and shows the PostgreSQL pool's use", async () => {
      const { gateway } = t.app;
      const hits = (text: string) =>
        sample(text, "stageline_idempotency_hits_total", { command_type: "Account.Deposit" }) ?? 0;
      const before = hits(await scrape(t.url));
      const deposit = { ...accountCommand("Deposit", "m-a", { amount: 1 }), requestId: `idem-${engine}` };
      const first = await gateway.sendAndWait(deposit, { stage: "PROJECTED" });
      const again = await gateway.sendAndWait(deposit, { stage: "PROJECTED" });
      expect(again.commandId).toBe(first.commandId);
      const text = await scrape(t.url);
      // Counted per process (both engines' servers run in this one): moved by this one duplicate.
      expect(hits(text)).toBe(before + 1);
      const batches = sample(text, "stageline_runner_batch_seconds_count", { processor: "banking.AccountView" });
      expect(batches).toBeGreaterThanOrEqual(1);
      expect(sample(text, "stageline_runner_batch_seconds_sum", { processor: "banking.AccountView" })).toBeGreaterThan(
        0,
      );
      expect(
        sample(text, "stageline_runner_batch_seconds_bucket", { processor: "banking.AccountView", le: "+Inf" }),
      ).toBe(batches);
      // PostgreSQL: the tests' pool of 30; PGlite: its worker thread's one connection.
      expect(sample(text, "stageline_db_pool_max")).toBe(engine === "postgres" ? 30 : 1);
      expect(sample(text, "stageline_db_pool_connections", { state: "total" })).toBeGreaterThanOrEqual(1);
      expect(sample(text, "stageline_db_pool_connections", { state: "idle" })).toBeGreaterThanOrEqual(0);
      expect(sample(text, "stageline_db_pool_connections", { state: "waiting" })).toBeGreaterThanOrEqual(0);
    });

    it("reports dead letters by processor, process metrics and open WebSocket connections", async () => {
      const [event] = (await new EventLog(t.db.sql).readAll(undefined, 1)).events;
      await new DeadLetterStore(t.db.sql).park(t.db.sql, "banking.TransferSaga", event!, "boom", 2);
      let text = await scrape(t.url);
      expect(sample(text, "stageline_dead_letters", { processor: "banking.TransferSaga" })).toBe(1);
      expect(sample(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
      expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
      expect(sample(text, "stageline_open_streams", { transport: "ws" })).toBe(0);

      const client = createClient({ url: t.wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
      await new Promise<void>((resolve) => client.on("connected", () => resolve()));
      text = await scrape(t.url);
      expect(sample(text, "stageline_open_streams", { transport: "ws" })).toBe(1);
      await client.dispose();
      await vi.waitFor(async () => {
        expect(sample(await scrape(t.url), "stageline_open_streams", { transport: "ws" })).toBe(0);
      }, waitLong);
    });
  });

  describe("a server whose runners have not started", () => {
    const t = useTestApp(engine, { runner: FAST_RUNNER, ops: { ...defaults(), readyMaxLagEvents: 2 } }, undefined, {
      workers: false,
    });

    // Catches the lag check's removal from readinessProbe (verified: /ready then answers 200 here).
    it("is not ready while a runner is more events behind than allowed, and ready once it caught up", async () => {
      for (const id of ["l-a", "l-b", "l-c"]) {
        const r = await t.app.gateway.sendAndWait(accountCommand("CreateAccount", id, { name: id }));
        expect(r.succeeded).toBe(true);
      }
      const { status, body } = await ready(t.url);
      expect(status).toBe(503);
      expect(body.ready).toBe(false);
      expect(body.checks.database.ok).toBe(true);
      expect(body.checks.runners.ok).toBe(false);
      expect(body.checks.runners.lagging).toContainEqual(
        expect.objectContaining({ processor: "banking.AccountView", eventsBehind: 3 }),
      );
      const text = await scrape(t.url);
      expect(sample(text, "stageline_runner_lag_events", { processor: "banking.AccountView" })).toBe(3);
      expect(sample(text, "stageline_runner_lag_seconds", { processor: "banking.AccountView" })).toBeGreaterThan(0);

      t.app.runners.start();
      await vi.waitFor(async () => expect((await ready(t.url)).status).toBe(200), waitLong);
    });

    it("reports the async queue's depth and the age of its oldest command, and open SSE streams", async () => {
      // The command worker is not running: an async command stays queued.
      const { commandId } = await t.app.gateway.send({
        ...accountCommand("CreateAccount", "q-a", { name: "q" }),
        async: true,
      });
      await vi.waitFor(async () => {
        const text = await scrape(t.url);
        expect(sample(text, "stageline_async_queue_depth")).toBe(1);
        expect(sample(text, "stageline_async_queue_oldest_seconds")).toBeGreaterThan(0);
      }, waitLong);

      // A subscription over SSE to that command stays open (it never gets PROCESSED) until aborted.
      const abort = new AbortController();
      const response = await fetch(t.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({
          query: `subscription($id: ID!) { commandResults(commandId: $id, until: { stage: PROCESSED }) { stage } }`,
          variables: { id: commandId },
        }),
        signal: abort.signal,
      });
      expect(response.status).toBe(200);
      expect(sample(await scrape(t.url), "stageline_open_streams", { transport: "sse" })).toBe(1);
      abort.abort();
      await response.body?.cancel().catch(() => {});
      await vi.waitFor(async () => {
        expect(sample(await scrape(t.url), "stageline_open_streams", { transport: "sse" })).toBe(0);
      }, waitLong);
    });

    // Catches: the useLiveSubscriptions plugin left out of src/graphql/server.ts (no samples), a
    // release missed on unsubscribe or on a closed socket (the gauge never comes down).
    it("counts live subscriptions by operation and transport, up as they start and down as they end", async () => {
      const { commandId } = await t.app.gateway.send({
        ...accountCommand("CreateAccount", "live-a", { name: "live" }),
        async: true,
      });
      const live = async (operation: string, transport: string) =>
        sample(await scrape(t.url), "stageline_live_subscriptions", { operation, transport }) ?? 0;
      const WATCH = `subscription($id: ID!) { commandResults(commandId: $id, until: { stage: PROCESSED }) { stage } }`;

      const client = createClient({ url: t.wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
      const ignore = { next: () => {}, error: () => {}, complete: () => {} };
      const first = client.subscribe({ query: WATCH, variables: { id: commandId } }, ignore);
      client.subscribe({ query: WATCH, variables: { id: commandId } }, ignore);
      client.subscribe({ query: "subscription { commandsSent { commandId } }" }, ignore);
      const abort = new AbortController();
      const sse = await fetch(t.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ query: WATCH, variables: { id: commandId } }),
        signal: abort.signal,
      });
      expect(sse.status).toBe(200);
      await vi.waitFor(async () => {
        expect(await live("commandResults", "ws")).toBe(2);
        expect(await live("commandsSent", "ws")).toBe(1);
        expect(await live("commandResults", "sse")).toBe(1);
      }, waitLong);

      first(); // the client completes one operation; the socket stays
      await vi.waitFor(async () => expect(await live("commandResults", "ws")).toBe(1), waitLong);
      abort.abort();
      await sse.body?.cancel().catch(() => {});
      await client.dispose(); // the socket closes with its operations still running
      await vi.waitFor(async () => {
        expect(await live("commandResults", "ws")).toBe(0);
        expect(await live("commandsSent", "ws")).toBe(0);
        expect(await live("commandResults", "sse")).toBe(0);
      }, waitLong);
    });
  });
});

describe("operations endpoints switched off", () => {
  const t = useTestApp("pglite", { ops: { ...defaults(), metricsEnabled: false } });

  it("does not serve /metrics when METRICS_ENABLED=false, and still serves the probes", async () => {
    expect((await fetch(new URL("/metrics", t.url))).status).toBe(404);
    expect((await fetch(new URL("/health", t.url))).status).toBe(200);
    expect((await fetch(new URL("/ready", t.url))).status).toBe(200);
  });
});

function defaults() {
  return { metricsEnabled: true, readyMaxLagEvents: 10_000, readyMaxLagSeconds: 60, probeTimeoutMs: 2_000 };
}
