/**
 * Turns the measurements into the one Markdown table (every compared figure with its ratio) and
 * the results JSON.
 */
import { percentiles } from "./stats.ts";

export interface CellData {
  engine: "postgres" | "durable" | "pglite";
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
  /** Errors by code (OVERLOADED: refused by admission, nothing stored; UNAVAILABLE: the pool's wait ran out). */
  errorCodes?: Record<string, number>;
  /** With --retry-overloaded: OVERLOADED answers sent again, and commands stored after a retry. */
  retries?: number;
  storedAfterRetry?: number;
  firstError?: string;
  /** The full text of the first few errors with no code (counted as `other`). */
  uncoded?: string[];
  latencies: number[];
  elapsedMs: number;
}

export interface EventLoopData {
  engine: string;
  p50: number;
  p99: number;
  max: number;
}

export interface SagaLoadData {
  engine: string;
  clients: number;
  durationMs: number;
  transfers: number;
  errors: number;
  firstError?: string;
  maxLagEvents: number;
  maxLagSeconds: number;
  settled: boolean;
  settleMs: number;
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
  limit: "storage limit: single-row INSERT (plain driver, no app)",
  SENT: "deposit, wait SENT (GraphQL)",
  PROCESSED: "deposit, wait PROCESSED (GraphQL)",
  PROJECTED: "deposit, wait PROJECTED (GraphQL)",
  SAGA_CHAIN: "transfer chain, wait SAGA_HANDLED (GraphQL)",
  gateway: "deposit, wait PROCESSED (in-process gateway)",
  emmett: "deposit through Emmett (in-process peer)",
  CEILING: "transport ceiling: bare Yoga, the same deposit document",
};

const ENGINE_LABELS: Record<string, string> = {
  postgres: "postgres",
  durable: "postgres, durable",
  pglite: "pglite",
};

const MB = 1024 * 1024;
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "–");
const ratio = (a: number, b: number | undefined) => (b && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "–");
const mark = (ok: boolean) => (ok ? "✓" : "✗");

export function rate(cell: CellData): number {
  return cell.windowMs > 0 ? (cell.completed * 1000) / cell.windowMs : 0;
}

/**
 * This round's targets (issue 12) for one cell, as "✓"/"✗" marks; a target's floor in brackets.
 * The ceiling is the bare-Yoga row of the same run (same machine, same client processes).
 */
function targets(cell: CellData, find: (scenario: string) => CellData | undefined): string {
  const value = rate(cell);
  const p = percentiles(cell.latencies);
  const share = (other: CellData | undefined) => (other ? value / rate(other) : Number.NaN);
  const marks: string[] = [];
  const limit = find("limit");
  const emmett = find("emmett");
  const ceiling = find("CEILING");
  if (cell.engine === "postgres" && cell.scenario === "PROCESSED" && cell.clients === 32) {
    if (ceiling) marks.push(`≥ 0.9× ceiling (0.5×) ${mark(share(ceiling) >= 0.9)}${mark(share(ceiling) >= 0.5)}`);
    if (limit) marks.push(`≥ 0.3× limit (0.15×) ${mark(share(limit) >= 0.3)}${mark(share(limit) >= 0.15)}`);
    marks.push(`p99 < 30 ms (50) ${mark(p.p99 < 30)}${mark(p.p99 < 50)}`);
  }
  if (cell.engine === "postgres" && cell.scenario === "PROCESSED" && cell.clients === 1) {
    marks.push(`p50 < 3 ms ${mark(p.p50 < 3)}`);
  }
  if (cell.engine === "postgres" && cell.scenario === "gateway" && cell.clients === 32 && emmett) {
    marks.push(`≥ 3× Emmett (1.5×) ${mark(share(emmett) >= 3)}${mark(share(emmett) >= 1.5)}`);
  }
  if (cell.engine === "durable" && cell.scenario === "gateway" && cell.clients === 32 && limit) {
    marks.push(`≥ 1.0× durable limit ${mark(share(limit) >= 1)}`);
  }
  if (cell.engine === "postgres" && cell.scenario === "SAGA_CHAIN" && cell.clients === 32) {
    const processed = find("PROCESSED");
    if (processed) marks.push(`≥ 0.3× PROCESSED ${mark(share(processed) >= 0.3)}`);
  }
  if (cell.engine === "pglite" && cell.scenario === "PROCESSED" && cell.clients === 8) {
    marks.push(`≥ 500 cmd/s ${mark(value >= 500)}`);
  }
  return marks.join("; ");
}

export function buildTable(
  cells: CellData[],
  catchUps: CatchUpData[],
  fanOuts: FanOutData[],
  memory: MemoryData[],
  eventLoops: EventLoopData[] = [],
  sagaLoads: SagaLoadData[] = [],
): string {
  const find = (engine: string, scenario: string, clients: number) =>
    cells.find((c) => c.engine === engine && c.scenario === scenario && c.clients === clients);
  const lines = [
    "| engine | measure | clients | value | p50 ms | p95 ms | p99 ms | ÷ storage limit | ÷ Emmett | ÷ Yoga ceiling | target (floor) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  const order = ["limit", "CEILING", "SENT", "PROCESSED", "PROJECTED", "SAGA_CHAIN", "gateway", "emmett"];
  const graphqlRows = ["SENT", "PROCESSED", "PROJECTED", "SAGA_CHAIN"];
  for (const engine of ["postgres", "durable", "pglite"] as const) {
    const clientsList = [...new Set(cells.filter((c) => c.engine === engine).map((c) => c.clients))].sort(
      (a, b) => a - b,
    );
    for (const clients of clientsList) {
      const limit = find(engine, "limit", clients);
      const emmett = find(engine, "emmett", clients);
      // The ceiling is a property of the machine and the transport: one row, under postgres.
      const ceiling = find("postgres", "CEILING", clients);
      for (const scenario of order) {
        const cell = find(engine, scenario, clients);
        if (!cell) continue;
        const p = percentiles(cell.latencies);
        const value = rate(cell);
        const unit = scenario === "limit" ? "rows/s" : scenario === "SAGA_CHAIN" ? "chains/s" : "cmd/s";
        const compared = !["limit", "CEILING"].includes(scenario);
        const versusEmmett = ["PROCESSED", "gateway"].includes(scenario) && emmett;
        const versusCeiling = graphqlRows.includes(scenario) && ceiling;
        const errors = cell.errors > 0 ? ` (${int(cell.errors)} errors)` : "";
        lines.push(
          `| ${ENGINE_LABELS[engine]} | ${LABELS[scenario]}${errors} | ${clients} | ${int(value)} ${unit} | ${ms(p.p50)} | ${ms(p.p95)} | ${ms(p.p99)} | ${compared ? ratio(value, limit && rate(limit)) : scenario === "limit" ? "1.00×" : "–"} | ${versusEmmett ? ratio(value, rate(emmett)) : scenario === "emmett" ? "1.00×" : "–"} | ${versusCeiling ? ratio(value, rate(ceiling)) : scenario === "CEILING" ? "1.00×" : "–"} | ${targets(cell, (s) => find(engine, s, clients))} |`,
        );
      }
    }
  }
  for (const c of catchUps) {
    const write = (c.events * 1000) / c.insertMs;
    const read = (c.projected * 1000) / c.catchUpMs;
    lines.push(
      `| ${ENGINE_LABELS[c.engine] ?? c.engine} | write limit: multi-row INSERT of ${int(c.events)} events (1,000 rows a statement) | 1 | ${int(write)} events/s | | | | 1.00× | – | – | |`,
    );
    lines.push(
      `| ${ENGINE_LABELS[c.engine] ?? c.engine} | projection catch-up: fresh AccountView runner over those events (batch ${c.batchSize})${c.timedOut ? ` (stopped after ${int(c.catchUpMs / 1000)} s at ${int(c.projected)} events)` : ""} | 1 | ${int(read)} events/s | | | | ${ratio(read, write)} | – | – | ${c.engine === "postgres" ? `≥ 0.5× write limit (0.3×) ${mark(read / write >= 0.5)}${mark(read / write >= 0.3)}` : ""} |`,
    );
  }
  for (const f of fanOuts) {
    const p = percentiles(f.latencies);
    const errors = f.errors > 0 ? ` (${int(f.errors)} errors)` : "";
    lines.push(
      `| ${ENGINE_LABELS[f.engine] ?? f.engine} | fan-out: ${int(f.subscribers)} graphql-ws subscribers, own command each, sent over ${ms(f.spreadMs / 1000)} s; append → delivery${errors} | ${int(f.subscribers)} | ${int((f.delivered * 1000) / f.elapsedMs)} signals/s | ${ms(p.p50)} | ${ms(p.p95)} | ${ms(p.p99)} | – | – | – | ${f.engine === "postgres" ? `p99 < 50 ms (100) ${mark(p.p99 < 50)}${mark(p.p99 < 100)}` : ""} |`,
    );
  }
  for (const m of memory) {
    if (m.soak && m.soak.samples.length > 1) {
      const { first, last, growth } = soakGrowth(m.soak.samples);
      const p = percentiles(m.soak.latencies);
      const flat = growth <= Math.max(10 * MB, 0.05 * first);
      lines.push(
        `| ${ENGINE_LABELS[m.engine] ?? m.engine} | server RSS over a ${int(m.soak.durationMs / 1000)} s soak, PROCESSED (GraphQL): ${int((m.soak.completed * 1000) / m.soak.durationMs)} cmd/s; RSS ${int(first / MB)} → ${int(last / MB)} MB | ${m.soak.clients} | ${growth >= 0 ? "+" : ""}${(growth / MB).toFixed(1)} MB | ${ms(p.p50)} | ${ms(p.p95)} | ${ms(p.p99)} | – | – | – | flat (≤ +max(10 MB, 5%)) ${mark(flat)} |`,
      );
    }
    if (m.peakBeforeFanOut !== undefined) {
      lines.push(
        `| ${ENGINE_LABELS[m.engine] ?? m.engine} | server peak RSS: throughput figures and soak (before the fan-out) | – | ${int(m.peakBeforeFanOut / MB)} MB | | | | – | – | – | < 200 MB (300) ${mark(m.peakBeforeFanOut < 200 * MB)}${mark(m.peakBeforeFanOut < 300 * MB)} |`,
      );
    }
    lines.push(
      `| ${ENGINE_LABELS[m.engine] ?? m.engine} | server peak RSS over the whole run${m.peakBeforeFanOut !== undefined ? " (with the fan-out)" : ""} | – | ${int(m.peakRss / MB)} MB | | | | – | – | – | ${m.engine === "postgres" ? `< 200 MB (300) ${mark(m.peakRss < 200 * MB)}${mark(m.peakRss < 300 * MB)}` : ""} |`,
    );
  }
  for (const s of sagaLoads) {
    const errors = s.errors > 0 ? ` (${int(s.errors)} errors: ${s.firstError})` : "";
    lines.push(
      `| ${ENGINE_LABELS[s.engine] ?? s.engine} | transfer saga under ${int(s.durationMs / 1000)} s of sustained transfers (answered at PROCESSED, ${int(s.transfers)} sent)${errors}: its largest lag | ${s.clients} | ${int(s.maxLagEvents)} positions, ${s.maxLagSeconds.toFixed(2)} s | | | | – | – | – | < 1 s ${mark(s.maxLagSeconds < 1)} |`,
    );
    lines.push(
      `| ${ENGINE_LABELS[s.engine] ?? s.engine} | after that load: until every runner reached the head | – | ${s.settled ? `${int(s.settleMs)} ms` : "not within 120 s"} | | | | – | – | – | < 5 s ${mark(s.settled && s.settleMs < 5000)} |`,
    );
  }
  for (const e of eventLoops) {
    lines.push(
      `| ${ENGINE_LABELS[e.engine] ?? e.engine} | server event-loop delay during the throughput figures (p50 / p99 / max) | – | ${ms(e.p50)} / ${ms(e.p99)} / ${ms(e.max)} ms | | | | – | – | – | |`,
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
