/**
 * The app under test, in its own process: createApp on DATABASE_URL (a PostgreSQL database, or
 * `memory://` for PGlite), listening on a free port. The orchestrator asks it for its memory
 * and to settle (every runner caught up with the log) between measurements.
 */
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
