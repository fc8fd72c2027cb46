/**
 * Prometheus metrics for one Stageline process, served at /metrics. Two sources:
 * - live observation: every result the ResultBus publishes (stage latencies from SENT, command
 *   outcomes) and every batch a runner commits (events read), counted as they happen;
 * - the database, read at scrape time (runner lag, dead letters, the async queue), because those
 *   are facts about the shared log, true whichever process moved them.
 * Each App gets its own registry (tests run several apps in one process). A scrape never hangs
 * on a lost database: its reads are bounded by a timeout, and `stageline_database_up` says 0.
 */

import client from "prom-client";
import type { Registry as ProcessorRegistry } from "../core/registry.ts";
import type { CommandResult } from "../core/stages.ts";
import type { AdmissionUse, ShedReason } from "../gateway/admission.ts";
import type { ResultBus } from "../gateway/result-bus.ts";
import type { Logger } from "../logger.ts";
import type { RunnerSet } from "../runners/runner-set.ts";
import type { PoolUse } from "../store/database.ts";
import type { OpsQueries, ProcessorLag } from "../store/ops-queries.ts";
import { singleFlight, withTimeout } from "./bounded.ts";
import type { LiveSubscriptions } from "./live-subscriptions.ts";
import { processCounters } from "./process-metrics.ts";

export interface MetricsDeps {
  queries: OpsQueries;
  processors: ProcessorRegistry;
  runners: RunnerSet;
  bus: ResultBus;
  logger: Logger;
  /** The database pool's use (PostgreSQL only). */
  poolUse?: () => PoolUse;
  /** The command admission stage's use (src/gateway/admission.ts). */
  admission?: () => AdmissionUse;
  /** Longest a scrape waits for the database. */
  timeoutMs: number;
  /** The subscriptions the GraphQL server runs now. */
  subscriptions?: LiveSubscriptions;
}

interface DatabaseFacts {
  lag: ProcessorLag[];
  dead: Map<string, number>;
  queue: { depth: number; oldestSeconds: number };
  head: bigint;
}

/**
 * Process metrics (CPU, memory, event-loop delay, GC) describe the process, not an App: one
 * registry for all of them, so that several apps in one process (tests, the bench) do not each
 * start their own event-loop monitor and GC observer.
 */
let processMetrics: client.Registry | undefined;
/** A gauge with one label whose values are read from the process at each scrape, one per label value. */
function readAtScrape<L extends string>(
  name: string,
  help: string,
  label: L,
  registers: client.Registry[],
  read: () => Record<string, number>,
): void {
  const gauge: client.Gauge<L> = new client.Gauge<L>({
    name,
    help,
    labelNames: [label],
    registers,
    collect: () => {
      for (const [value, figure] of Object.entries(read())) gauge.set({ [label]: value } as Record<L, string>, figure);
    },
  });
}

function processRegistry(): client.Registry {
  if (!processMetrics) {
    processMetrics = new client.Registry();
    client.collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/** Seconds from SENT to a stage: from a few milliseconds (PROCESSED) to a saga's minutes. */
const STAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Commands whose SENT this process saw, kept until every later stage has had time to arrive. */
const TRACK_LIMIT = 100_000;
const TRACK_FOR_MS = 15 * 60_000;

export class StagelineMetrics {
  readonly registry = new client.Registry();
  private readonly stageSeconds: client.Histogram<"command_type" | "stage">;
  private readonly commands: client.Counter<"command_type" | "outcome" | "error_code">;
  private readonly runnerEvents: client.Counter<"processor">;
  private readonly batchEvents: client.Histogram<"processor">;
  private readonly batchSeconds: client.Histogram<"processor">;
  private readonly databaseUp: client.Gauge;
  private readonly lagEvents: client.Gauge<"processor">;
  private readonly lagSeconds: client.Gauge<"processor">;
  private readonly runnerHalted: client.Gauge<"processor">;
  private readonly deadLetters: client.Gauge<"processor">;
  private readonly queueDepth: client.Gauge;
  private readonly queueOldest: client.Gauge;
  private readonly logHead: client.Gauge;
  private readonly openStreams: client.Gauge<"transport">;
  private readonly liveSubscriptions: client.Gauge<"operation" | "transport">;
  /** commandId → when it was SENT (ms) and, once PROCESSED, its type. */
  private readonly sent = new Map<string, { at: number; type?: string }>();
  private readonly streams = { ws: 0, sse: 0 };
  private readonly refresh: () => Promise<DatabaseFacts>;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly deps: MetricsDeps) {
    const registers = [this.registry];
    this.stageSeconds = new client.Histogram({
      name: "stageline_command_stage_seconds",
      help: "Seconds from a command's SENT to each later stage it reached (stage scope), by command type",
      labelNames: ["command_type", "stage"],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.commands = new client.Counter({
      name: "stageline_commands_total",
      help: "Commands processed (PROCESSED reached), by type, outcome (succeeded|rejected) and error code",
      labelNames: ["command_type", "outcome", "error_code"],
      registers,
    });
    this.runnerEvents = new client.Counter({
      name: "stageline_runner_events_total",
      help: "Log events a runner in this process read and checkpointed",
      labelNames: ["processor"],
      registers,
    });
    this.batchEvents = new client.Histogram({
      name: "stageline_runner_batch_events",
      help: "Events per batch a runner in this process committed",
      labelNames: ["processor"],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    });
    this.batchSeconds = new client.Histogram({
      name: "stageline_runner_batch_seconds",
      help: "Seconds per batch a runner in this process committed, from its read to its commit (prepare, apply, checkpoint)",
      labelNames: ["processor"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    if (deps.poolUse) {
      const poolUse = deps.poolUse;
      readAtScrape(
        "stageline_db_pool_connections",
        "PostgreSQL pool connections of this process: open (total), idle, and requests waiting for one",
        "state",
        registers,
        () => {
          const { total, idle, waiting } = poolUse();
          return { total, idle, waiting };
        },
      );
      const size: client.Gauge = new client.Gauge({
        name: "stageline_db_pool_max",
        help: "The PostgreSQL pool's size (DATABASE_POOL_SIZE)",
        registers,
        collect: () => {
          size.set(poolUse().max);
        },
      });
    }
    if (deps.admission) this.admissionMetrics(deps.admission, registers);
    // The plain gauges, set by `apply` (the database's) or by `scrape`.
    const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      new client.Gauge<L>({ name, help, labelNames, registers });
    this.databaseUp = gauge(
      "stageline_database_up",
      "1 when the database answered this scrape's reads in time, else 0 (the gauges below are then absent)",
    );
    this.lagEvents = gauge(
      "stageline_runner_lag_events",
      "Events past a processor's checkpoint (counted up to 100,000)",
      ["processor"],
    );
    this.lagSeconds = gauge(
      "stageline_runner_lag_seconds",
      "Age of the oldest event past a processor's checkpoint (0 when caught up)",
      ["processor"],
    );
    this.runnerHalted = gauge(
      "stageline_runner_halted",
      "1 when this process's runner stopped on a poison event (RUNNER_ON_POISON=stop)",
      ["processor"],
    );
    this.deadLetters = gauge("stageline_dead_letters", "Events parked in dead letters, by processor", ["processor"]);
    this.queueDepth = gauge("stageline_async_queue_depth", "Asynchronous commands waiting for a worker");
    this.queueOldest = gauge(
      "stageline_async_queue_oldest_seconds",
      "How long the oldest waiting asynchronous command has waited",
    );
    this.logHead = gauge("stageline_log_head_position", "The newest position in the event log");
    this.openStreams = new client.Gauge({
      name: "stageline_open_streams",
      help: "Open subscription transports: WebSocket connections (each may carry several subscriptions) and SSE streams",
      labelNames: ["transport"],
      registers,
      collect: () => {
        this.openStreams.set({ transport: "ws" }, this.streams.ws);
        this.openStreams.set({ transport: "sse" }, this.streams.sse);
      },
    });

    this.liveSubscriptions = new client.Gauge({
      name: "stageline_live_subscriptions",
      help: "Subscriptions running now, by operation (the subscription's root field) and transport (ws|sse)",
      labelNames: ["operation", "transport"],
      registers,
      collect: () => {
        for (const { operation, transport, count } of deps.subscriptions?.snapshot() ?? []) {
          this.liveSubscriptions.set({ operation, transport }, count);
        }
      },
    });

    this.unsubscribe.push(deps.bus.onAny((result) => this.observe(result)));
    for (const runner of deps.runners.runners) {
      this.unsubscribe.push(
        runner.onProgress((_checkpoint, batch) => {
          this.runnerEvents.inc({ processor: runner.step.id }, batch.events);
          this.batchEvents.observe({ processor: runner.step.id }, batch.events);
          this.batchSeconds.observe({ processor: runner.step.id }, batch.seconds);
        }),
      );
    }
    this.refresh = singleFlight(() => this.readDatabase());
  }

  /**
   * Commands in flight and queued at the admission stage, read at scrape time, and the
   * OVERLOADED answers by reason (queue_full: refused on arrival; queue_wait: waited too long).
   */
  private admissionMetrics(admission: () => AdmissionUse, registers: client.Registry[]): void {
    readAtScrape(
      "stageline_command_admission",
      "Client commands at the admission stage: doing storage work (in_flight) and waiting for a place (queued)",
      "state",
      registers,
      () => {
        const use = admission();
        return { in_flight: use.inFlight, queued: use.queued };
      },
    );
    readAtScrape(
      "stageline_command_admission_limit",
      "The admission stage's bounds: COMMAND_ADMISSION_MAX_IN_FLIGHT (in_flight) and COMMAND_ADMISSION_QUEUE (queued)",
      "limit",
      registers,
      () => {
        const use = admission();
        return { in_flight: use.maxInFlight, queued: use.maxQueued };
      },
    );
    // A counter kept by the admission stage: each scrape adds what it refused since the last.
    const counted: Record<ShedReason, number> = { queue_full: 0, queue_wait: 0 };
    const overloaded: client.Counter<"reason"> = new client.Counter({
      name: "stageline_commands_overloaded_total",
      help: "Client commands answered OVERLOADED, nothing stored, by reason (queue_full|queue_wait)",
      labelNames: ["reason"],
      registers,
      collect: () => {
        const { shed } = admission();
        for (const reason of ["queue_full", "queue_wait"] as const) {
          overloaded.inc({ reason }, shed[reason] - counted[reason]);
          counted[reason] = shed[reason];
        }
      },
    });
  }

  /** Prometheus's text format, after reading the database-backed gauges. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const fromDatabase = [this.lagEvents, this.lagSeconds, this.deadLetters, this.queueDepth, this.queueOldest];
    for (const gauge of [...fromDatabase, this.logHead]) gauge.reset();
    try {
      this.apply(await withTimeout(this.refresh(), this.deps.timeoutMs, "metrics read"));
      this.databaseUp.set(1);
    } catch (err) {
      this.deps.logger.warn({ err }, "metrics: database reads failed; serving the rest");
      this.databaseUp.set(0);
    }
    for (const runner of this.deps.runners.runners) {
      this.runnerHalted.set({ processor: runner.step.id }, runner.state === "halted" ? 1 : 0);
    }
    const [processMetrics, counters, own] = await Promise.all([
      processRegistry().metrics(),
      processCounters.metrics(),
      this.registry.metrics(),
    ]);
    return { contentType: this.registry.contentType, body: `${processMetrics}\n${counters}\n${own}` };
  }

  /** A subscription transport opened; call the returned function when it closes. */
  streamOpened(transport: "ws" | "sse"): () => void {
    this.streams[transport]++;
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.streams[transport]--;
    };
  }

  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  private async readDatabase(): Promise<DatabaseFacts> {
    const { queries, processors } = this.deps;
    const [lag, dead, queue, head] = await Promise.all([
      queries.processorLag(processors.processors.map((p) => p.id)),
      queries.deadLetterCounts(),
      queries.asyncQueue(),
      queries.head(),
    ]);
    return { lag, dead, queue, head: head.position };
  }

  private apply({ lag, dead, queue, head }: DatabaseFacts): void {
    for (const p of lag) {
      this.lagEvents.set({ processor: p.processorId }, p.eventsBehind);
      this.lagSeconds.set({ processor: p.processorId }, p.secondsBehind);
      // Every processor gets a dead-letter series (0 included), so an alert can use increase().
      this.deadLetters.set({ processor: p.processorId }, dead.get(p.processorId) ?? 0);
    }
    // Dead letters of a processor no longer registered still show.
    for (const [processor, n] of dead) this.deadLetters.set({ processor }, n);
    this.queueDepth.set(queue.depth);
    this.queueOldest.set(queue.oldestSeconds);
    this.logHead.set(Number(head));
  }

  /**
   * Stage results only (a processor's own signal is not a stage). SENT starts the clock; the
   * PROCESSED result names the command type (SENT's does not) and counts the outcome.
   */
  private observe(result: CommandResult): void {
    if (result.scope !== "STAGE") return;
    const at = result.signalTime.getTime();
    if (result.stage === "SENT") {
      this.track(result.commandId, at);
      return;
    }
    const sent = this.sent.get(result.commandId);
    if (result.stage === "PROCESSED") {
      const type = result.function.functionKind === "AGGREGATE" ? result.function.name : "unknown";
      if (sent) sent.type = type;
      this.commands.inc({
        command_type: type,
        outcome: result.succeeded ? "succeeded" : "rejected",
        error_code: result.errorCode,
      });
    }
    if (!sent?.type) return;
    this.stageSeconds.observe({ command_type: sent.type, stage: result.stage }, Math.max(0, at - sent.at) / 1000);
  }

  private track(commandId: string, at: number): void {
    this.sent.set(commandId, { at });
    // Insertion order is (roughly) time order: forget the oldest first.
    for (const [id, entry] of this.sent) {
      if (this.sent.size <= TRACK_LIMIT && Date.now() - entry.at < TRACK_FOR_MS) break;
      this.sent.delete(id);
    }
  }
}
