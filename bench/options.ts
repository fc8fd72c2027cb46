/**
 * `npm run bench -- [--quick] [--rounds N] [--duration S] [--warmup S] [--clients 1,8,32,128]
 *   [--soak S] [--catchup-events N] [--subscribers N] [--spread S] [--engines postgres,durable,pglite]
 *   [--saga-load S]
 *   [--no-emmett] [--profile [--profile-clients N]] [--only cells,saga,soak,fanout,catchup] [--scaleout]
 *   [--retry-overloaded N]`
 * `BENCH_DATABASE_URL=postgres://…` benchmarks an existing server instead of the embedded one
 * (it must allow CREATE DATABASE; the bench's databases are dropped afterwards).
 */
export interface BenchOptions {
  quick: boolean;
  rounds: number;
  durationMs: number;
  warmupMs: number;
  clients: number[];
  soakMs: number;
  catchUpEvents: number;
  subscribers: number;
  spreadMs: number;
  /** postgres: the tests' settings (fsync off); durable: a server with fsync and synchronous commit on. */
  engines: ("postgres" | "durable" | "pglite")[];
  /** Seconds of sustained transfers answered at PROCESSED, to measure the saga's lag (0: skip). */
  sagaLoadMs: number;
  emmett: boolean;
  /** Only profile PROCESSED with --cpu-prof (no table). */
  profile: boolean;
  /** Clients of the profiled run (32 by default; 1 shows the per-request cost). */
  profileClients: number;
  /** Client processes that share the GraphQL load. */
  clientProcesses: number;
  /** Only these parts run (`--only cells,saga,soak,fanout,catchup`; default all): narrow development runs. */
  only: Set<string>;
  /** Only the scale-out figures (bench/scaleout.ts): several processes on one PostgreSQL. */
  scaleout: boolean;
  /** Fan-out clients send a command answered OVERLOADED again, up to this many times, after its retryAfterMs (0: never). */
  retryOverloaded: number;
}

/** The parts of a run that `--only` can pick. */
export const PARTS = ["cells", "saga", "soak", "fanout", "catchup"];

export function parseOptions(argv: readonly string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new Error(`Unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    const next = argv[i + 1];
    if (inline !== undefined) flags.set(name, inline);
    else if (next !== undefined && !next.startsWith("--")) flags.set(name, argv[++i]!);
    else flags.set(name, "true");
  }
  const quick = flags.has("quick");
  const num = (name: string, full: number, short: number) => {
    const value = flags.get(name);
    const n = value === undefined ? (quick ? short : full) : Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a number`);
    return n;
  };
  const known = [
    "quick",
    "rounds",
    "duration",
    "warmup",
    "clients",
    "soak",
    "catchup-events",
    "subscribers",
    "spread",
    "engines",
    "no-emmett",
    "profile",
    "client-processes",
    "saga-load",
    "profile-clients",
    "only",
    "scaleout",
    "retry-overloaded",
  ];
  for (const name of flags.keys()) if (!known.includes(name)) throw new Error(`Unknown option --${name}`);
  const engines = (flags.get("engines") ?? "postgres,durable,pglite").split(",");
  for (const part of (flags.get("only") ?? "cells").split(",")) {
    if (!PARTS.includes(part)) throw new Error(`Unknown part ${part} (--only ${PARTS.join(",")})`);
  }
  for (const engine of engines) {
    if (!["postgres", "durable", "pglite"].includes(engine)) throw new Error(`Unknown engine ${engine}`);
  }
  return {
    quick,
    rounds: num("rounds", 2, 1),
    durationMs: num("duration", 5, 2) * 1000,
    warmupMs: num("warmup", 1, 0.5) * 1000,
    clients: (flags.get("clients") ?? "1,8,32,128").split(",").map(Number),
    soakMs: num("soak", 300, 20) * 1000,
    catchUpEvents: num("catchup-events", 100_000, 20_000),
    subscribers: num("subscribers", 1000, 1000),
    spreadMs: num("spread", 5, 5) * 1000,
    engines: engines as BenchOptions["engines"],
    sagaLoadMs: num("saga-load", 60, 10) * 1000,
    emmett: !flags.has("no-emmett"),
    profile: flags.has("profile"),
    profileClients: num("profile-clients", 32, 32),
    clientProcesses: num("client-processes", 2, 2),
    only: new Set((flags.get("only") ?? PARTS.join(",")).split(",")),
    scaleout: flags.has("scaleout"),
    retryOverloaded: num("retry-overloaded", 0, 0),
  };
}
