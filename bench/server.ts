/**
 * The app under test, in its own process: createApp on DATABASE_URL (a PostgreSQL database, or
 * `memory://` for PGlite), listening on a free port. The orchestrator asks it for its memory
 * and to settle (every runner caught up with the log) between measurements.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import pg from "pg";
import { createApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { isAfter } from "../src/core/messages.ts";
import { serve } from "./ipc.ts";

/**
 * With BENCH_COUNT_SQL=1, counts the statements sent to PostgreSQL (every pg client: our raw SQL
 * and Prisma's adapter), by statement text: how many round trips one command costs.
 */
const statements = new Map<string, number>();
if (process.env.BENCH_COUNT_SQL === "1") {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string };
    const text = typeof config === "string" ? config : (config?.text ?? "?");
    const key = text.replace(/\s+/g, " ").trim().slice(0, 100);
    statements.set(key, (statements.get(key) ?? 0) + 1);
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
}

const app = await createApp({ config: { ...loadConfig(), port: 0, host: "127.0.0.1" } });
const { url } = await app.start();
/** How late timers fire on the main thread: what a request or a WebSocket ping waits behind. */
const LOOP_RESOLUTION_MS = 1;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loopDelay.enable();

export interface EventLoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/** How far one processor is behind the log's head: in positions, and the age of its next event. */
export interface SagaLag {
  events: number;
  seconds: number;
  /** The processor's batches since the last sample: how many, their events, and their time (s). */
  batches: number;
  batchEvents: number;
  batchSeconds: number;
}

/** Batches each processor committed since its lag was last sampled. */
const batchStats = new Map<string, { batches: number; events: number; seconds: number }>();
for (const runner of app.runners.runners) {
  const stats = { batches: 0, events: 0, seconds: 0 };
  batchStats.set(runner.step.id, stats);
  runner.onProgress((_checkpoint, batch) => {
    stats.batches++;
    stats.events += batch.events;
    stats.seconds += batch.seconds;
  });
}

export interface Memory {
  rss: number;
  heapUsed: number;
  /** Peak resident set size of the process so far, bytes. */
  maxRss: number;
}

serve({
  url: () => ({ url, pid: process.pid, database: app.db.description, poolSize: app.config.poolSize }),
  memory: (): Memory => {
    const { rss, heapUsed } = process.memoryUsage();
    return { rss, heapUsed, maxRss: process.resourceUsage().maxRSS * 1024 };
  },
  /** Event-loop delay since the last call, in ms (then starts again). */
  eventLoop: (): EventLoopDelay => {
    // The histogram records the whole interval between timer ticks: take the tick's own period off.
    const ms = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
    const delay = { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
    loopDelay.reset();
    return delay;
  },
  sagaLag: async (args: { processor: string }): Promise<SagaLag> => {
    const runner = app.runners.runners.find((r) => r.step.id === args.processor);
    if (!runner) throw new Error(`no runner ${args.processor}`);
    const checkpoint = runner.checkpoint;
    const head = await app.events.headPosition();
    if (!checkpoint) return { events: Number(head), seconds: 0, batches: 0, batchEvents: 0, batchSeconds: 0 };
    const next = (await app.events.readAll(checkpoint, 1)).events[0];
    const stats = batchStats.get(args.processor) ?? { batches: 0, events: 0, seconds: 0 };
    const sample = { batches: stats.batches, batchEvents: stats.events, batchSeconds: stats.seconds };
    Object.assign(stats, { batches: 0, events: 0, seconds: 0 });
    return {
      events: Math.max(0, Number(head - checkpoint.position)),
      seconds: next ? Math.max(0, (Date.now() - next.createdAt.getTime()) / 1000) : 0,
      ...sample,
    };
  },
  /** Every runner not at the log's head, with how many positions it is behind. */
  behind: async () => {
    const head = await app.events.headPosition();
    return app.runners.runners
      .filter((r) => !r.checkpoint || r.checkpoint.position < head)
      .map((r) => `${r.step.id} ${Number(head - (r.checkpoint?.position ?? 0n))}`);
  },
  /** Statement counts since the last call (BENCH_COUNT_SQL=1), most frequent first. */
  statements: () => {
    const list = [...statements].sort((a, b) => b[1] - a[1]);
    statements.clear();
    return list;
  },
  /** Resolves when no command is being processed and every runner has passed the log's head. */
  settle: async (args: { timeoutMs?: number }) => {
    const deadline = Date.now() + (args?.timeoutMs ?? 120_000);
    await app.gateway.drain();
    for (;;) {
      const head = await app.events.locate(await app.events.headPosition());
      const behind = head ? app.runners.runners.filter((r) => !r.checkpoint || isAfter(head, r.checkpoint)) : [];
      if (behind.length === 0) return { settled: true };
      if (Date.now() > deadline) return { settled: false, behind: behind.map((r) => r.step.id) };
      await new Promise((r) => setTimeout(r, 25));
    }
  },
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  // A normal exit, so that `--cpu-prof` writes its profile.
  app.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
