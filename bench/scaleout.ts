/**
 * `npm run bench -- --scaleout [--duration S]`: several Stageline processes on one PostgreSQL
 * (docs/scale-out.md). Three figures, on the bench's PostgreSQL:
 * - signal latency across processes: an event handler on instance A is released, and the
 *   EVENT_HANDLED stage it reaches is delivered to a wait on instance B whose own store re-read
 *   is 10 minutes away (so only the signal delivers it). A and B are two instances in this
 *   process, each with its own pool and listening connection; the time includes A's batch
 *   commit, the signal and B's re-read of the results. By NOTIFY, and by Redis when REDIS_URL
 *   is set.
 * - PROCESSED per second with 1, 2 and 3 Stageline processes (child processes), 32 clients
 *   spread over them. They share the machine's cores with the server and the clients: reported,
 *   not promised.
 * - takeover after SIGKILL: two processes at the default lease TTL; the time from the kill of
 *   an event handler's holder to the survivor holding that lease.
 */
import { once } from "node:events";
import { createApp } from "../src/app.ts";
import type { CommandResult } from "../src/core/stages.ts";
import { banking } from "../src/domains/banking/index.ts";
import { waitForResults } from "../src/gateway/wait.ts";
import { openDatabase } from "../src/store/database.ts";
import { parseDatabaseUrl } from "../src/store/database-url.ts";
import { LeaseStore } from "../src/store/lease-store.ts";
import { migrate } from "../src/store/migrations.ts";
import { PgSignalTransport } from "../src/store/pg-signals.ts";
import { RedisSignalTransport } from "../src/store/redis-signals.ts";
import type { SignalTransport } from "../src/store/signal-transport.ts";
import { type Child, pidOf, post, spawnChild, stopChild } from "../test/scaleout/support/children.ts";
import { instanceConfig } from "../test/scaleout/support/config.ts";
import { gatedHandler } from "../test/scaleout/support/gated.ts";
import { startListener } from "../test/scaleout/support/listener.ts";
import { accountCommand, CREATE_ACCOUNT, DEPOSIT } from "../test/support/app.ts";
import type { BenchPostgres } from "./postgres.ts";
import { percentiles } from "./stats.ts";

type Log = (message: string) => void;

export interface ScaleOutResult {
  latency: { transport: string; samples: number; p50: number; p99: number }[];
  processed: { processes: number; perSecond: number }[];
  takeoverMs: number;
  leaseTtlMs: number;
}

const SAMPLES = 200;

async function signalLatency(pg: BenchPostgres, kind: "notify" | "redis", log: Log) {
  const url = await pg.createDatabase(`stageline_bench_signals_${kind}`);
  const redisUrl = process.env.REDIS_URL;
  const channel = `stageline_bench_${process.pid}`;
  const { context: gated, hold, open } = gatedHandler();
  const config = {
    ...instanceConfig({
      leaseTtlMs: 9_000,
      signals: kind,
      ...(kind === "redis" ? { redisUrl, redisChannel: channel } : {}),
    }),
    databaseUrl: url,
  };
  const a = await createApp({ config, contexts: [banking, gated] });
  await a.start();
  const other = await openDatabase(parseDatabaseUrl(url, ""), { poolSize: 4 });
  await migrate(other.sql);
  const transport: SignalTransport =
    kind === "redis" ? new RedisSignalTransport(redisUrl!, channel) : new PgSignalTransport(url, other.sql);
  const b = await startListener(other.sql, transport, config.retentionMs);
  try {
    await a.gateway.sendAndWait(accountCommand("CreateAccount", "lat", { name: "lat", initialBalance: 0 }));
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      hold();
      const sent = await a.gateway.sendAndWait(accountCommand("Deposit", "lat", { amount: 1 }));
      const seen: CommandResult[] = [];
      const waiting = (async () => {
        for await (const result of waitForResults(b, sent.commandId, {
          target: { stage: "EVENT_HANDLED" },
          timeoutMs: 30_000,
          pollMs: 600_000,
        }))
          seen.push(result);
      })();
      while (!b.bus.watches(sent.commandId)) await new Promise((resolve) => setTimeout(resolve, 1));
      const released = performance.now();
      open();
      await waiting;
      if (seen.at(-1)?.stage === "EVENT_HANDLED") samples.push(performance.now() - released);
    }
    const p = percentiles(samples);
    log(`signals (${kind}): p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms over ${samples.length}`);
    return { transport: kind, samples: samples.length, p50: p.p50, p99: p.p99 };
  } finally {
    open();
    await b.signals.stop();
    await other.close();
    await a.stop();
  }
}

async function prepareDatabase(pg: BenchPostgres, name: string): Promise<string> {
  const url = await pg.createDatabase(name);
  const db = await openDatabase(parseDatabaseUrl(url, ""), { poolSize: 2 });
  await migrate(db.sql);
  await db.sql.exec("CREATE TABLE handler_effects (position bigint NOT NULL, pid int NOT NULL)");
  await db.close();
  return url;
}

async function processedWith(pg: BenchPostgres, processes: number, durationMs: number, log: Log) {
  const url = await prepareDatabase(pg, `stageline_bench_processes_${processes}`);
  const children: Child[] = [];
  try {
    for (let i = 0; i < processes; i++) children.push(await spawnChild({ url, ttlMs: 9_000 }));
    const clients = 32;
    for (let c = 0; c < clients; c++) {
      await post(children[c % processes]!, CREATE_ACCOUNT, {
        name: `c${c}`,
        initialBalance: 0,
        command: { aggregateId: `c${c}`, waitFor: { stage: "PROCESSED" } },
      });
    }
    let done = 0;
    let counting = false;
    const end = Date.now() + 1_000 + durationMs;
    const countFrom = Date.now() + 1_000;
    const loop = async (c: number) => {
      while (Date.now() < end) {
        const ok = await post(children[c % processes]!, DEPOSIT, {
          amount: 1,
          command: { aggregateId: `c${c}`, waitFor: { stage: "PROCESSED" } },
        });
        counting ||= Date.now() >= countFrom;
        if (ok && counting) done++;
      }
    };
    await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
    const perSecond = done / (durationMs / 1000);
    log(`PROCESSED with ${processes} process(es): ${Math.round(perSecond)}/s`);
    return { processes, perSecond };
  } finally {
    for (const c of children) await stopChild(c);
  }
}

async function takeover(pg: BenchPostgres, ttlMs: number, log: Log): Promise<number> {
  const url = await prepareDatabase(pg, "stageline_bench_takeover");
  const children: Child[] = [];
  const db = await openDatabase(parseDatabaseUrl(url, ""), { poolSize: 2 });
  try {
    for (let i = 0; i < 2; i++) children.push(await spawnChild({ url, ttlMs }));
    const leases = new LeaseStore(db.sql);
    const holderOf = async () => (await leases.holders()).find((h) => h.processorId === "probe.Recorder");
    for (;;) {
      const live = new Set((await leases.holders()).filter((h) => h.live).map((h) => pidOf(h.owner)));
      if (children.every((c) => live.has(c.pid))) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const holder = (await holderOf())!;
    const victim = children.find((c) => c.pid === pidOf(holder.owner))!;
    const killed = performance.now();
    victim.child.kill("SIGKILL");
    await once(victim.child, "exit");
    for (;;) {
      const now = await holderOf();
      if (now?.live && now.epoch > holder.epoch) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const ms = performance.now() - killed;
    log(`takeover after SIGKILL at RUNNER_LEASE_TTL_MS=${ttlMs}: ${Math.round(ms)} ms`);
    return ms;
  } finally {
    for (const c of children) if (c.alive()) await stopChild(c);
    await db.close();
  }
}

export async function runScaleOut(pg: BenchPostgres, durationMs: number, log: Log): Promise<ScaleOutResult> {
  const latency = [await signalLatency(pg, "notify", log)];
  if (process.env.REDIS_URL) latency.push(await signalLatency(pg, "redis", log));
  const processed = [];
  for (const n of [1, 2, 3]) processed.push(await processedWith(pg, n, durationMs, log));
  const leaseTtlMs = 9_000;
  const takeoverMs = await takeover(pg, leaseTtlMs, log);
  return { latency, processed, takeoverMs, leaseTtlMs };
}
