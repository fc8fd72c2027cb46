/**
 * Turns the measurements into the one Markdown table (every compared figure with its ratio) and
 * the results JSON.
 */
import { percentiles } from "./stats.ts";

export interface CellData {
  engine: "postgres" | "pglite";
  scenario: string;
  clients: number;
  completed: number;
  errors: number;
  firstError?: string;
  windowMs: number;
  latencies: number[];
}

export interface CatchUpData {
  engine: string;
  events: number;
  insertMs: number;
  projected: number;
  catchUpMs: number;
  timedOut: boolean;
  batchSize: number;
}

export interface FanOutData {
  engine: string;
  subscribers: number;
  spreadMs: number;
  delivered: number;
  errors: number;
  firstError?: string;
  latencies: number[];
  elapsedMs: number;
}

export interface MemoryData {
  engine: string;
  /** Peak RSS of the server over its whole life. */
  peakRss: number;
  /** Peak RSS after the throughput figures and the soak, before the fan-out. */
  peakBeforeFanOut?: number;
  soak?: {
    clients: number;
    durationMs: number;
    samples: { atMs: number; rss: number; heapUsed: number }[];
    completed: number;
    errors: number;
    latencies: number[];
  };
}

export const LABELS: Record<string, string> = {
  limit: "storage limit: single-row INSERT (plain pg)",
  SENT: "deposit, wait SENT (GraphQL)",
  PROCESSED: "deposit, wait PROCESSED (GraphQL)",
  PROJECTED: "deposit, wait PROJECTED (GraphQL)",
  SAGA_CHAIN: "transfer chain, wait SAGA_HANDLED (GraphQL)",
  gateway: "deposit, wait PROCESSED (in-process gateway)",
  emmett: "deposit through Emmett (in-process peer)",
};

const MB = 1024 * 1024;
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "–");
const ratio = (a: number, b: number | undefined) => (b && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "–");
const mark = (ok: boolean) => (ok ? "✓" : "✗");

export function rate(cell: CellData): number {
  return cell.windowMs > 0 ? (cell.completed * 1000) / cell.windowMs : 0;
}

export function buildTable(
  cells: CellData[],
  catchUps: CatchUpData[],
  fanOuts: FanOutData[],
  memory: MemoryData[],
): string {
  const find = (engine: string, scenario: string, clients: number) =>
    cells.find((c) => c.engine === engine && c.scenario === scenario && c.clients === clients);
  const lines = [
    "| engine | measure | clients | value | p50 ms | p95 ms | p99 ms | ÷ storage limit | ÷ Emmett | target |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  const order = ["limit", "SENT", "PROCESSED", "PROJECTED", "SAGA_CHAIN", "gateway", "emmett"];
  for (const engine of ["postgres", "pglite"] as const) {
    const clientsList = [...new Set(cells.filter((c) => c.engine === engine).map((c) => c.clients))].sort(
      (a, b) => a - b,
    );
    for (const clients of clientsList) {
      const limit = find(engine, "limit", clients);
      const emmett = find(engine, "emmett", clients);
      for (const scenario of order) {
        const cell = find(engine, scenario, clients);
        if (!cell) continue;
        const p = percentiles(cell.latencies);
        const value = rate(cell);
        const unit = scenario === "limit" ? "rows/s" : scenario === "SAGA_CHAIN" ? "chains/s" : "cmd/s";
        const compared = scenario !== "limit";
        const versusEmmett = ["PROCESSED", "gateway"].includes(scenario) && emmett;
        let target = "";
        if (engine === "postgres" && clients === 32 && scenario === "PROCESSED") {
          const share = limit ? value / rate(limit) : Number.NaN;
          target = [
            `≥ 0.5× limit ${mark(share >= 0.5)}`,
            `p99 < 50 ms ${mark(p.p99 < 50)}`,
            emmett ? `ahead of Emmett ${mark(value > rate(emmett))}` : "",
          ]
            .filter(Boolean)
            .join("; ");
        }
        if (engine === "postgres" && clients === 32 && scenario === "gateway" && emmett) {
          target = `ahead of Emmett ${mark(value > rate(emmett))}`;
        }
        const errors = cell.errors > 0 ? ` (${int(cell.errors)} errors)` : "";
        lines.push(
          `| ${engine} | ${LABELS[scenario]}${errors} | ${clients} | ${int(value)} ${unit} | ${ms(p.p50)} | ${ms(p.p95)} | ${ms(p.p99)} | ${compared ? ratio(value, limit && rate(limit)) : "1.00×"} | ${versusEmmett ? ratio(value, rate(emmett)) : scenario === "emmett" ? "1.00×" : "–"} | ${target} |`,
        );
      }
    }
  }
  for (const c of catchUps) {
    const write = (c.events * 1000) / c.insertMs;
    const read = (c.projected * 1000) / c.catchUpMs;
    lines.push(
      `| ${c.engine} | write limit: multi-row INSERT of ${int(c.events)} events (1,000 rows a statement) | 1 | ${int(write)} events/s | | | | 1.00× | – | |`,
    );
    lines.push(
      `| ${c.engine} | projection catch-up: fresh AccountView runner over those events (batch ${c.batchSize})${c.timedOut ? ` (stopped after ${int(c.catchUpMs / 1000)} s at ${int(c.projected)} events)` : ""} | 1 | ${int(read)} events/s | | | | ${ratio(read, write)} | – | ${c.engine === "postgres" ? `≥ 0.3× write limit ${mark(read / write >= 0.3)}` : ""} |`,
    );
  }
  for (const f of fanOuts) {
    const p = percentiles(f.latencies);
    const errors = f.errors > 0 ? ` (${int(f.errors)} errors)` : "";
    lines.push(
      `| ${f.engine} | fan-out: ${int(f.subscribers)} graphql-ws subscribers, own command each, sent over ${ms(f.spreadMs / 1000)} s; append → delivery${errors} | ${int(f.subscribers)} | ${int((f.delivered * 1000) / f.elapsedMs)} signals/s | ${ms(p.p50)} | ${ms(p.p95)} | ${ms(p.p99)} | – | – | ${f.engine === "postgres" ? `p99 < 100 ms ${mark(p.p99 < 100)}` : ""} |`,
    );
  }
  for (const m of memory) {
    if (m.soak && m.soak.samples.length > 1) {
      const { first, last, growth } = soakGrowth(m.soak.samples);
      const p = percentiles(m.soak.latencies);
      const flat = growth <= Math.max(10 * MB, 0.05 * first);
      lines.push(
        `| ${m.engine} | server RSS over a ${int(m.soak.durationMs / 1000)} s soak, PROCESSED (GraphQL): ${int((m.soak.completed * 1000) / m.soak.durationMs)} cmd/s; RSS ${int(first / MB)} → ${int(last / MB)} MB | ${m.soak.clients} | ${growth >= 0 ? "+" : ""}${(growth / MB).toFixed(1)} MB | ${ms(p.p50)} | ${ms(p.p95)} | ${ms(p.p99)} | – | – | flat (≤ +max(10 MB, 5%)) ${mark(flat)} |`,
      );
    }
    if (m.peakBeforeFanOut !== undefined) {
      lines.push(
        `| ${m.engine} | server peak RSS: throughput figures and soak (before the fan-out) | – | ${int(m.peakBeforeFanOut / MB)} MB | | | | – | – | < 300 MB ${mark(m.peakBeforeFanOut < 300 * MB)} |`,
      );
    }
    lines.push(
      `| ${m.engine} | server peak RSS over the whole run${m.peakBeforeFanOut !== undefined ? " (with the fan-out)" : ""} | – | ${int(m.peakRss / MB)} MB | | | | – | – | ${m.engine === "postgres" ? `< 300 MB ${mark(m.peakRss < 300 * MB)}` : ""} |`,
    );
  }
  return lines.join("\n");
}

/** RSS at the start and end of a soak: medians of its first and last fifth (noise-tolerant). */
export function soakGrowth(samples: { rss: number }[]) {
  const fifth = Math.max(1, Math.floor(samples.length / 5));
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const first = median(samples.slice(0, fifth).map((s) => s.rss));
  const last = median(samples.slice(-fifth).map((s) => s.rss));
  return { first, last, growth: last - first };
}

/** The cells without raw samples, for the JSON. */
export function summariseCell(cell: CellData) {
  const { latencies, ...rest } = cell;
  return { ...rest, label: LABELS[cell.scenario], perSecond: rate(cell), latencyMs: percentiles(latencies) };
}
