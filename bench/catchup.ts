/**
 * Projection catch-up over a pre-filled log: writes `events` rows with multi-row INSERTs (1,000
 * rows a statement, one client: the write limit), then starts a fresh AccountView runner (no
 * checkpoint) over them — what exists now for a rebuild — and times it to the log's head.
 * Runs in its own process on its own database (DATABASE_URL: a PostgreSQL database or memory://).
 */
import { randomUUID } from "node:crypto";
import { createApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { serve } from "./ipc.ts";

const ROWS_PER_STATEMENT = 1_000;
const PROJECTION = "banking.AccountView";

export interface CatchUpResult {
  events: number;
  accounts: number;
  insertMs: number;
  /** Events the projection passed (all of them unless the time limit was reached). */
  projected: number;
  catchUpMs: number;
  timedOut: boolean;
  batchSize: number;
}

serve({
  run: async (args: { events: number; accounts: number; timeoutMs: number }): Promise<CatchUpResult> => {
    const app = await createApp({ config: { ...loadConfig(), port: 0 } });
    try {
      // The runners take their leases (on PostgreSQL a runner applies nothing without its lease),
      // then stop: only AccountView runs, and only once the log is written.
      await app.runners.start();
      for (const id of app.runners.processorIds) await app.runners.stopOne(id);
      const perAccount = Math.ceil(args.events / args.accounts);
      const rows: unknown[][] = [];
      for (let a = 0; a < args.accounts && rows.length < args.events; a++) {
        for (let v = 1; v <= perAccount && rows.length < args.events; v++) {
          rows.push(
            v === 1
              ? [`acc-${a}`, v, "AccountCreated", JSON.stringify({ name: `holder ${a}`, initialBalance: 0 })]
              : [`acc-${a}`, v, "MoneyDeposited", '{"amount":1}'],
          );
        }
      }
      const insertStarted = performance.now();
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
        const params: unknown[] = [];
        const values = chunk.map((row) => {
          const n = params.length;
          params.push(...row, randomUUID());
          return `('default', 'Account', $${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}::jsonb, $${n + 5}::uuid, $${n + 5}::text, $${n + 5}::uuid, $${n + 5}::text)`;
        });
        await app.db.sql.query(
          `INSERT INTO events (tenant_id, aggregate_name, aggregate_id, version, type, body,
                               command_id, request_id, correlation_id, causation_id)
           VALUES ${values.join(", ")}`,
          params,
        );
      }
      const insertMs = performance.now() - insertStarted;
      const head = await app.events.headPosition();
      const first = head - BigInt(rows.length) + 1n;

      const runner = app.runners.runner(PROJECTION);
      if (!runner) throw new Error(`no runner ${PROJECTION}`);
      await app.runners.checkpoints.reset(PROJECTION);
      const started = performance.now();
      app.runners.startOne(PROJECTION);
      let timedOut = false;
      while (!runner.checkpoint || runner.checkpoint.position < head) {
        if (performance.now() - started > args.timeoutMs) {
          timedOut = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      const catchUpMs = performance.now() - started;
      await runner.stop();
      const reached = runner.checkpoint?.position ?? 0n;
      const projected = reached >= first ? Number(reached - first + 1n) : 0;
      return {
        events: rows.length,
        accounts: args.accounts,
        insertMs,
        projected,
        catchUpMs,
        timedOut,
        batchSize: app.config.runner.batchSize,
      };
    } finally {
      await app.stop().catch(() => {});
    }
  },
});
