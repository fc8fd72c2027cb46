/**
 * `npm run bench` — starts Stageline on a real PostgreSQL (embedded, or BENCH_DATABASE_URL) and
 * on PGlite, drives it from separate client processes, and prints one Markdown table (also
 * written, with the raw figures, to bench/results/<date>-<machine>.json). Figures that are
 * compared run in the same process tree, on the same server, interleaved round by round.
 * See bench/options.ts for the flags; `--quick` is a short run for development.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, hostname, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import type { CatchUpResult } from "./catchup.ts";
import { cpuDelta, cpuSnapshot } from "./cpu.ts";
import type { FanOutResult } from "./fanout-driver.ts";
import { type Child, spawnChild } from "./ipc.ts";
import { type BenchOptions, parseOptions } from "./options.ts";
import { type BenchPostgres, startBenchPostgres } from "./postgres.ts";
import { formatSummary, summarise } from "./profile-summary.ts";
import {
  buildTable,
  type CatchUpData,
  type CellData,
  type EventLoopData,
  type FanOutData,
  type MemoryData,
  rate,
  type SagaLoadData,
  summariseCell,
} from "./report.ts";
import type { EventLoopDelay, Memory, SagaLag } from "./server.ts";
import { type LoadResult, merge, percentiles } from "./stats.ts";

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const peersDir = `${benchDir}peers`;
const options = parseOptions(process.argv.slice(2));
const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

const children: Child[] = [];
async function child(name: string, file: string, opts: Parameters<typeof spawnChild>[2] = {}) {
  const c = await spawnChild(name, file, opts);
  children.push(c);
  return c;
}
async function stopChildren(list: Child[]) {
  await Promise.all(list.map((c) => c.stop()));
  for (const c of list) children.splice(children.indexOf(c), 1);
}

/** Installs the peers (registry only) when missing; returns why Emmett is unavailable, if it is. */
function ensurePeers(): string | undefined {
  if (existsSync(`${peersDir}/node_modules/@event-driven-io/emmett-postgresql/package.json`)) return undefined;
  try {
    log("installing benchmark peers into bench/peers (npm install --prefix bench/peers)");
    execFileSync("npm", ["install", "--prefix", peersDir, "--no-audit", "--no-fund"], { stdio: "inherit" });
    return undefined;
  } catch (error) {
    return `npm install --prefix bench/peers failed: ${(error as Error).message}`;
  }
}

/** Splits `total` clients over `parts` processes. */
const split = (total: number, parts: number) =>
  Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

interface Scenario {
  drivers: Child[];
  args?: Record<string, unknown>;
  /** Drives the app server: wait until it is idle again before the next measurement. */
  server: boolean;
}

interface EngineRun {
  eventLoop?: EventLoopData;
  sagaLoad?: SagaLoadData;
  cells: CellData[];
  catchUp?: CatchUpData;
  fanOuts: FanOutData[];
  memory?: MemoryData;
  notes: string[];
}

async function runCell(
  engine: CellData["engine"],
  name: string,
  scenario: Scenario,
  server: Child,
  clients: number,
  durationMs: number,
  warmupMs: number,
): Promise<LoadResult> {
  const shares = split(clients, scenario.drivers.length);
  const startAt = Date.now() + 300;
  const results = await Promise.all(
    scenario.drivers.map((d, i) =>
      shares[i]
        ? d.call<LoadResult>("run", { ...scenario.args, loops: shares[i], startAt, warmupMs, durationMs })
        : undefined,
    ),
  );
  const merged = merge(results.filter((r): r is LoadResult => r !== undefined));
  if (scenario.server) {
    const settled = await server.call<{ settled: boolean; behind?: string[] }>("settle", {});
    if (!settled.settled) log(`${engine} ${name}: runners still behind after settling: ${settled.behind?.join(", ")}`);
  }
  return merged;
}

/**
 * Sagas keeping up: 16 clients send transfers (answered at PROCESSED) for `--saga-load` seconds
 * while the server samples how far the transfer saga is behind the log's head; then the time
 * until every runner has caught up (everything settled).
 */
async function sagaLoad(engine: CellData["engine"], graphql: Child[], server: Child): Promise<SagaLoadData> {
  log(`${engine}: sustained transfers for ${options.sagaLoadMs / 1000} s, sampling the saga's lag`);
  const samples: SagaLag[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push(await server.call<SagaLag>("sagaLag", { processor: "banking.TransferSaga" }));
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const load = await runCell(
    engine,
    "saga-load",
    { drivers: graphql, args: { scenario: "TRANSFER_PROCESSED" }, server: false },
    server,
    16,
    options.sagaLoadMs,
    0,
  );
  sampling = false;
  await sampler;
  const ended = Date.now();
  let settling = true;
  const watcher = (async () => {
    while (settling) {
      log(`behind: ${(await server.call<string[]>("behind", {})).join(", ")}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  const settled = await server.call<{ settled: boolean }>("settle", { timeoutMs: 120_000 });
  settling = false;
  await watcher;
  const settleMs = Date.now() - ended;
  const worst = samples.reduce((w, s) => (s.seconds > w.seconds ? s : w), { events: 0, seconds: 0 });
  const batches = samples.reduce((n, s) => n + s.batches, 0);
  const batchEvents = samples.reduce((n, s) => n + s.batchEvents, 0);
  const batchSeconds = samples.reduce((n, s) => n + s.batchSeconds, 0);
  log(
    `${engine} saga batches during the load: ${batches}, ${(batchEvents / Math.max(1, batches)).toFixed(0)} events and ${((batchSeconds * 1000) / Math.max(1, batches)).toFixed(0)} ms each on average`,
  );
  log(
    `${engine} saga load: ${load.completed} transfers, saga lag max ${worst.events} events / ${worst.seconds.toFixed(2)} s, settled ${settled.settled ? `in ${settleMs} ms` : "NOT within 120 s"}`,
  );
  return {
    engine,
    clients: 16,
    durationMs: options.sagaLoadMs,
    transfers: load.completed,
    errors: load.errors,
    firstError: load.firstError,
    maxLagEvents: worst.events,
    maxLagSeconds: worst.seconds,
    settled: settled.settled,
    settleMs,
  };
}

async function benchEngine(engine: CellData["engine"], pgServer: BenchPostgres | undefined, emmettProblem?: string) {
  const run: EngineRun = { cells: [], fanOuts: [], notes: [] };
  const dbUrl = async (name: string) => (engine === "pglite" ? "memory://" : pgServer!.createDatabase(name));
  // The durable server measures only the commit path (its storage limit, PROCESSED, the
  // in-process gateway, Emmett): what fsync costs. The rest is the same work on slower commits.
  const full = engine !== "durable";
  const common = { NODE_ENV: "production" };

  log(`${engine}: starting the server and the client processes`);
  // BENCH_SERVER_PROF=cpu|heap: the server runs under --cpu-prof / --heap-prof (files in BENCH_PROF_DIR, else bench/profiles).
  const prof = process.env.BENCH_SERVER_PROF;
  const server = await child(`${engine} server`, "./server.ts", {
    env: { ...common, DATABASE_URL: await dbUrl("app") },
    nodeArgs: prof
      ? [`--${prof}-prof`, `--${prof}-prof-dir=${process.env.BENCH_PROF_DIR ?? `${benchDir}profiles`}`]
      : [],
  });
  const { url } = await server.call<{ url: string }>("url");
  const graphql = await Promise.all(
    Array.from({ length: options.clientProcesses }, (_, i) => child(`graphql client ${i}`, "./graphql-driver.ts")),
  );
  const limit = await child("storage limit", "./limit-driver.ts");
  const scenarios: Record<string, Scenario> = {
    limit: { drivers: [limit], server: false },
    PROCESSED: { drivers: graphql, args: { scenario: "PROCESSED" }, server: true },
  };
  if (full) {
    scenarios.SENT = { drivers: graphql, args: { scenario: "SENT" }, server: true };
    scenarios.PROJECTED = { drivers: graphql, args: { scenario: "PROJECTED" }, server: true };
    scenarios.SAGA_CHAIN = { drivers: graphql, args: { scenario: "SAGA_CHAIN" }, server: true };
  }
  const maxPerProcess = Math.ceil(Math.max(...options.clients) / options.clientProcesses);
  await Promise.all([
    ...graphql.map((g, i) => g.call("setup", { url, prefix: `g${i}`, accounts: Math.max(256, 4 * maxPerProcess) })),
    limit.call("setup", { url: await dbUrl("limit") }),
  ]);
  const local = [limit];
  if (engine === "postgres") {
    // The transport's ceiling: bare Yoga, the same document, the same client processes.
    const ceiling = await child("transport ceiling", "./transport-ceiling.ts", { env: common });
    const at = await ceiling.call<{ url: string }>("url");
    await Promise.all(graphql.map((g) => g.call("ceiling", at)));
    scenarios.CEILING = { drivers: graphql, args: { scenario: "CEILING" }, server: false };
    local.push(ceiling);
  }
  if (engine !== "pglite") {
    const gateway = await child("in-process gateway", "./gateway-driver.ts", {
      env: { ...common, DATABASE_URL: await dbUrl("gateway") },
    });
    const setup = await gateway.call<{ poolSize: number }>("setup", { prefix: "inproc", accounts: 512 });
    scenarios.gateway = { drivers: [gateway], server: false };
    local.push(gateway);
    if (options.emmett && !emmettProblem) {
      try {
        const emmett = await child("emmett", `${peersDir}/emmett-driver.ts`);
        await emmett.call("setup", {
          url: await dbUrl("emmett"),
          prefix: "emmett",
          accounts: 512,
          poolSize: setup.poolSize,
        });
        scenarios.emmett = { drivers: [emmett], server: false };
        local.push(emmett);
      } catch (error) {
        emmettProblem = `Emmett did not run: ${(error as Error).message.split("\n")[0]}`;
      }
    }
    if (emmettProblem) run.notes.push(emmettProblem);
  }

  const names = options.only.has("cells") ? Object.keys(scenarios) : [];
  if (names.length > 0) log(`${engine}: warming up (${names.join(", ")})`);
  for (const name of names) await runCell(engine, name, scenarios[name]!, server, 8, options.warmupMs, 0);
  await server.call("eventLoop"); // from here on: the delay during the measured figures

  for (let round = 0; round < (names.length > 0 ? options.rounds : 0); round++) {
    for (const [ci, clients] of options.clients.entries()) {
      // Rotate the order each time, so no scenario always runs first (or right after another).
      const shift = (round + ci) % names.length;
      for (const name of [...names.slice(shift), ...names.slice(0, shift)]) {
        const result = await runCell(
          engine,
          name,
          scenarios[name]!,
          server,
          clients,
          options.durationMs,
          Math.min(1000, options.durationMs / 5),
        );
        let cell = run.cells.find((c) => c.scenario === name && c.clients === clients);
        if (!cell) {
          cell = { engine, scenario: name, clients, completed: 0, errors: 0, windowMs: 0, latencies: [] };
          run.cells.push(cell);
        }
        cell.completed += result.completed;
        cell.errors += result.errors;
        cell.firstError ??= result.firstError;
        cell.windowMs += result.windowMs;
        for (const l of result.latencies) cell.latencies.push(l);
        const p = percentiles(result.latencies);
        log(
          `${engine} round ${round + 1} ${name} @${clients}: ${Math.round(rate({ ...cell, completed: result.completed, windowMs: result.windowMs }))}/s p99 ${p.p99.toFixed(1)} ms${result.errors ? ` errors ${result.errors}: ${result.firstError}` : ""}`,
        );
      }
    }
  }
  await stopChildren(local);
  run.eventLoop = { engine, ...(await server.call<EventLoopDelay>("eventLoop")) };
  log(
    `${engine}: server event-loop delay p99 ${run.eventLoop.p99.toFixed(1)} ms, max ${run.eventLoop.max.toFixed(1)} ms`,
  );
  if (engine === "postgres" && options.sagaLoadMs > 0 && options.only.has("saga"))
    run.sagaLoad = await sagaLoad(engine, graphql, server);

  if (engine === "postgres") {
    log(`${engine}: soak, PROCESSED at 32 clients for ${options.soakMs / 1000} s`);
    const samples: NonNullable<MemoryData["soak"]>["samples"] = [];
    const started = Date.now();
    const every = Math.max(1000, options.soakMs / 60);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await server.call<Memory>("memory");
        samples.push({ atMs: Date.now() - started, rss: m.rss, heapUsed: m.heapUsed });
        await new Promise((r) => setTimeout(r, every));
      }
    })();
    const soak = options.only.has("soak")
      ? await runCell(engine, "soak", scenarios.PROCESSED!, server, 32, options.soakMs, 0)
      : { completed: 0, errors: 0, latencies: [] };
    sampling = false;
    await sampler;
    const beforeFanOut = await server.call<Memory>("memory");
    run.memory = {
      engine,
      peakRss: beforeFanOut.maxRss,
      peakBeforeFanOut: beforeFanOut.maxRss,
      soak: {
        clients: 32,
        durationMs: options.soakMs,
        samples,
        completed: soak.completed,
        errors: soak.errors,
        latencies: soak.latencies,
      },
    };
    if (options.only.has("fanout")) {
      log(`${engine}: fan-out with ${options.subscribers} subscribers`);
      const fanOut = await Promise.all(
        Array.from({ length: options.clientProcesses }, (_, i) => child(`fan-out ${i}`, "./fanout-driver.ts")),
      );
      const perProcess = split(options.subscribers, fanOut.length);
      await Promise.all(
        fanOut.map((f, i) =>
          f.call("setup", { url, wsUrl: url.replace(/^http/, "ws"), prefix: `fan${i}`, subscribers: perProcess[i] }),
        ),
      );
      for (const spreadMs of [0, options.spreadMs]) {
        const startAt = Date.now() + 500;
        const results = await Promise.all(
          fanOut.map((f) =>
            f.call<FanOutResult>("run", { startAt, spreadMs, retryOverloaded: options.retryOverloaded }),
          ),
        );
        await server.call("settle", {});
        const data: FanOutData = {
          engine,
          subscribers: options.subscribers,
          spreadMs,
          delivered: 0,
          errors: 0,
          errorCodes: {},
          ...(options.retryOverloaded ? { retries: 0, storedAfterRetry: 0 } : {}),
          latencies: [],
          elapsedMs: 0,
        };
        const firstSend = Math.min(...results.map((r) => r.firstSendAt));
        const lastDelivery = Math.max(...results.map((r) => r.lastDeliveryAt));
        for (const r of results) {
          data.delivered += r.delivered;
          data.errors += r.errors;
          if (options.retryOverloaded) {
            data.retries! += r.retries;
            data.storedAfterRetry! += r.storedAfterRetry;
          }
          for (const [code, n] of Object.entries(r.errorCodes ?? {})) {
            data.errorCodes![code] = (data.errorCodes![code] ?? 0) + n;
          }
          data.firstError ??= r.firstError;
          if (r.uncoded?.length) data.uncoded = [...(data.uncoded ?? []), ...r.uncoded];
          for (const l of r.latencies) data.latencies.push(l);
        }
        data.elapsedMs = lastDelivery - firstSend;
        const byStage: Record<string, number[]> = {};
        for (const r of results)
          for (const [k, l] of Object.entries(r.byStage)) byStage[k] = [...(byStage[k] ?? []), ...l];
        log(
          `fan-out by stage: ${Object.entries(byStage)
            .map(([k, l]) => `${k} p50 ${percentiles(l).p50.toFixed(0)} p99 ${percentiles(l).p99.toFixed(0)}`)
            .join(", ")}`,
        );
        run.fanOuts.push(data);
        log(
          `${engine} fan-out spread ${spreadMs} ms: ${data.delivered} signals in ${data.elapsedMs} ms, p99 ${percentiles(data.latencies).p99.toFixed(1)} ms${data.errors ? `, errors ${data.errors} ${JSON.stringify(data.errorCodes)}: ${data.firstError}` : ""}${options.retryOverloaded ? `, ${data.retries} retries after OVERLOADED, ${data.storedAfterRetry} commands stored after one` : ""}`,
        );
      }
      await Promise.all(fanOut.map((f) => f.call("close")));
      await stopChildren(fanOut);
    }

    run.memory.peakRss = (await server.call<Memory>("memory")).maxRss;
  } else {
    const memory = await server.call<Memory>("memory");
    run.memory = { engine, peakRss: memory.maxRss };
  }
  await stopChildren([server, ...graphql]);
  if (!full || !options.only.has("catchup")) return run;

  log(`${engine}: projection catch-up over ${options.catchUpEvents} events`);
  const catchUp = await child("catch-up", "./catchup.ts", { env: { ...common, DATABASE_URL: await dbUrl("catchup") } });
  const c = await catchUp.call<CatchUpResult>("run", {
    events: options.catchUpEvents,
    accounts: Math.max(1, Math.round(options.catchUpEvents / 100)),
    timeoutMs: options.quick ? 60_000 : 300_000,
  });
  run.catchUp = { engine, ...c };
  log(
    `${engine} catch-up: insert ${Math.round((c.events * 1000) / c.insertMs)}/s, projection ${Math.round((c.projected * 1000) / c.catchUpMs)}/s`,
  );
  await stopChildren([catchUp]);
  return run;
}

/** `--profile`: PROCESSED over GraphQL (`--profile-clients`, 32 by default) with the server under `node --cpu-prof`. */
async function profile(pgServer: BenchPostgres) {
  const dir = `${benchDir}profiles`;
  mkdirSync(dir, { recursive: true });
  const server = await child("server", "./server.ts", {
    env: { NODE_ENV: "production", DATABASE_URL: await pgServer.createDatabase("profile"), BENCH_COUNT_SQL: "1" },
    nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
  });
  const { url } = await server.call<{ url: string }>("url");
  const graphql = await Promise.all(
    Array.from({ length: options.clientProcesses }, (_, i) => child(`graphql client ${i}`, "./graphql-driver.ts")),
  );
  await Promise.all(graphql.map((g, i) => g.call("setup", { url, prefix: `g${i}`, accounts: 256 })));
  const scenario = { drivers: graphql, args: { scenario: "PROCESSED" }, server: true };
  const clients = options.profileClients;
  await runCell("postgres", "warm-up", scenario, server, clients, 2000, 0);
  const groups = { server: [server.process.pid!], clients: graphql.map((g) => g.process.pid!) };
  await server.call("statements");
  const before = cpuSnapshot(groups);
  const result = await runCell("postgres", "PROCESSED", scenario, server, clients, options.durationMs, 0);
  const cpu = cpuDelta(before, cpuSnapshot(groups));
  const statements = await server.call<[string, number][]>("statements");
  const total = statements.reduce((s, [, n]) => s + n, 0);
  const p = percentiles(result.latencies);
  await stopChildren([server, ...graphql]);
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: the server's main thread is thread 0
  // (tsx's module loader thread writes one too).
  const newest = readdirSync(dir)
    .filter(
      (f) => f.endsWith(".cpuprofile") && f.split(".")[3] === String(server.process.pid) && f.split(".")[4] === "0",
    )
    .map((f) => `${dir}/${f}`)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  const perCommand = Object.entries(cpu)
    .map(([k, v]) => `${k} ${(v / result.completed).toFixed(2)} ms`)
    .join(", ");
  console.log(
    `PROCESSED @${clients} over GraphQL: ${Math.round((result.completed * 1000) / result.windowMs)} cmd/s, p50 ${p.p50.toFixed(1)} / p99 ${p.p99.toFixed(1)} ms\n` +
      `CPU per command (whole process, /proc; includes settling): ${perCommand}\n` +
      `CPU in the window: ${Object.entries(cpu)
        .map(([k, v]) => `${k} ${Math.round(v)} ms`)
        .join(", ")} over ${result.windowMs} ms wall\n` +
      `Profile: ${newest}\n\n` +
      `SQL statements sent by the server (window + settling): ${total}, ${(total / result.completed).toFixed(1)} per command\n\n` +
      `| per command | statement |\n| ---: | --- |\n${statements
        .slice(0, 30)
        .map(([text, n]) => `| ${(n / result.completed).toFixed(2)} | \`${text.replace(/\|/g, "\\|")}\` |`)
        .join("\n")}\n`,
  );
  if (newest) console.log(formatSummary(summarise(newest)));
}

function machine() {
  const cpu = cpus()[0]?.model ?? "unknown cpu";
  const slug =
    process.env.BENCH_MACHINE ??
    `${cpus().length}cpu-${cpu
      .toLowerCase()
      .replace(/\(r\)|\(tm\)|cpu|processor|@.*$/g, "")
      .trim()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")}`;
  return {
    slug,
    cpu,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    hostname: hostname(),
  };
}

/** `--scaleout`: only the scale-out figures (bench/scaleout.ts), printed and written as JSON. */
async function scaleOut(options: BenchOptions) {
  const server = await startBenchPostgres();
  try {
    const { runScaleOut } = await import("./scaleout.ts");
    const result = await runScaleOut(server, options.durationMs, log);
    const m = machine();
    mkdirSync(`${benchDir}results`, { recursive: true });
    const file = `${benchDir}results/scaleout-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
    writeFileSync(file, `${JSON.stringify({ machine: m, postgres: server.version, ...result }, null, 2)}\n`);
    console.log(JSON.stringify({ machine: m, ...result }, null, 2));
    log(`written to ${file}`);
  } finally {
    await server.stop();
  }
}

async function main(options: BenchOptions) {
  if (options.scaleout) return await scaleOut(options);
  const emmettProblem = options.emmett && !options.profile ? ensurePeers() : undefined;
  const pgServer = options.engines.includes("postgres") || options.profile ? await startBenchPostgres() : undefined;
  const durableServer = options.engines.includes("durable") ? await startBenchPostgres({ durable: true }) : undefined;
  try {
    if (options.profile) return await profile(pgServer!);
    const started = new Date();
    const runs: EngineRun[] = [];
    for (const engine of options.engines) {
      runs.push(await benchEngine(engine, engine === "durable" ? durableServer : pgServer, emmettProblem));
    }
    const m = machine();
    const cells = runs.flatMap((r) => r.cells);
    const catchUps = runs.flatMap((r) => (r.catchUp ? [r.catchUp] : []));
    const fanOuts = runs.flatMap((r) => r.fanOuts);
    const memory = runs.flatMap((r) => (r.memory ? [r.memory] : []));
    const eventLoops = runs.flatMap((r) => (r.eventLoop ? [r.eventLoop] : []));
    const sagaLoads = runs.flatMap((r) => (r.sagaLoad ? [r.sagaLoad] : []));
    const table = buildTable(cells, catchUps, fanOuts, memory, eventLoops, sagaLoads);
    const notes = runs.flatMap((r) => r.notes);
    const heading =
      `Stageline benchmark ${started.toISOString()} on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; ` +
      `${pgServer ? `${pgServer.version.split(" on ")[0]} (${pgServer.source}: fsync=${pgServer.settings.fsync}, synchronous_commit=${pgServer.settings.synchronous_commit})` : "no PostgreSQL"}; ` +
      `${durableServer ? `durable rows: a second server with fsync=${durableServer.settings.fsync}, synchronous_commit=${durableServer.settings.synchronous_commit}, full_page_writes=${durableServer.settings.full_page_writes}; ` : ""}` +
      `${options.rounds} round(s) × ${options.durationMs / 1000} s per figure${options.quick ? " (--quick)" : ""}.`;
    console.log(`\n${heading}\n\n${table}\n${notes.map((n) => `\nNote: ${n}`).join("")}`);
    const file = `${benchDir}results/${started.toISOString().slice(0, 10)}-${m.slug}${options.quick ? "-quick" : ""}.json`;
    mkdirSync(`${benchDir}results`, { recursive: true });
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          startedAt: started.toISOString(),
          finishedAt: new Date().toISOString(),
          machine: m,
          options,
          postgres: pgServer && { version: pgServer.version, source: pgServer.source, settings: pgServer.settings },
          durablePostgres: durableServer && { source: durableServer.source, settings: durableServer.settings },
          eventLoops,
          sagaLoads,
          emmett: emmettProblem ? { ran: false, reason: emmettProblem } : { ran: true, version: "0.42.0" },
          notes,
          cells: cells.map(summariseCell),
          catchUps,
          fanOuts: fanOuts.map(({ latencies, ...f }) => ({ ...f, latencyMs: percentiles(latencies) })),
          memory: memory.map((mem) => ({
            ...mem,
            soak: mem.soak && { ...mem.soak, latencies: undefined, latencyMs: percentiles(mem.soak.latencies) },
          })),
          heading,
          table,
        },
        null,
        2,
      )}\n`,
    );
    log(`results written to ${file}`);
  } finally {
    await stopChildren([...children]);
    await pgServer?.stop();
    await durableServer?.stop();
  }
}

main(options).then(
  () => process.exit(0),
  async (error: unknown) => {
    console.error(error);
    await Promise.all(children.map((c) => c.stop(2000))).catch(() => {});
    process.exit(1);
  },
);
