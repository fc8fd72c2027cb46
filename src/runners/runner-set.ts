/**
 * All the runners of a process: one per processor of every context (plus one snapshotter per
 * aggregate). An append wakes only the runners that read one of its event types: the others
 * pass those events at their next poll, in one batch, instead of each spending a read and a
 * checkpoint transaction on every command.
 */

import type { AggregateLoader } from "../aggregates/loader.ts";
import { isAfter, type LogCheckpoint, type RecordedEvent } from "../core/messages.ts";
import type { StartFrom } from "../core/processors.ts";
import type { RegisteredProcessor, Registry } from "../core/registry.ts";
import type { CommandGateway } from "../gateway/gateway.ts";
import type { ResultBus } from "../gateway/result-bus.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { Logger } from "../logger.ts";
import { CheckpointStore } from "../store/checkpoint-store.ts";
import { DeadLetterStore } from "../store/dead-letter-store.ts";
import type { EventLog } from "../store/event-log.ts";
import { readOnlyPrisma } from "../store/read-only-prisma.ts";
import type { ResultStore } from "../store/result-store.ts";
import type { SnapshotStore } from "../store/snapshot-store.ts";
import type { SqlClient } from "../store/sql.ts";
import type { RunnerLeases } from "./leases.ts";
import { toStep } from "./processor-adapters.ts";
import { Runner, type RunnerOptions } from "./runner.ts";
import { StageTracker } from "./stage-tracker.ts";

export interface RunnerSetDeps {
  sql: SqlClient;
  prisma: PrismaClient;
  events: EventLog;
  snapshots: SnapshotStore;
  results: ResultStore;
  bus: ResultBus;
  registry: Registry;
  gateway: CommandGateway;
  /** Sagas look aggregates up through it (the gateway's loader). */
  aggregates?: Pick<AggregateLoader, "load">;
  logger: Logger;
  /** Scale-out (PostgreSQL): run only the processors this process holds a lease on. */
  leases?: RunnerLeases;
}

export class RunnerSet {
  readonly runners: Runner[];
  readonly checkpoints: CheckpointStore;
  readonly deadLetters: DeadLetterStore;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly deps: RunnerSetDeps,
    options: RunnerOptions & { sagaConcurrency?: number },
  ) {
    this.checkpoints = new CheckpointStore(deps.sql);
    this.deadLetters = new DeadLetterStore(deps.sql);
    const tracker = new StageTracker({ registry: deps.registry, results: deps.results, bus: deps.bus, sql: deps.sql });
    this.runners = deps.registry.processors.map(
      (registered) =>
        new Runner(
          toStep(registered, {
            events: deps.events,
            snapshots: deps.snapshots,
            gateway: deps.gateway,
            aggregates: deps.aggregates,
            readModels: readOnlyPrisma(deps.prisma),
            sagaConcurrency: options.sagaConcurrency,
          }),
          {
            ...deps,
            checkpoints: this.checkpoints,
            deadLetters: this.deadLetters,
            signals: { results: deps.results, bus: deps.bus, tracker },
            ...(deps.leases ? { fence: deps.leases } : {}),
          },
          { ...options, from: startFrom(registered.processor) },
        ),
    );
    const wake = (events: readonly RecordedEvent[]) => {
      for (const runner of this.runners) {
        // An empty list: another process appended (LISTEN/NOTIFY), types unknown: wake every runner.
        if (events.length === 0) runner.notify();
        else if (events.some((e) => runner.step.eventTypes.has(e.type))) runner.notify(events);
      }
    };
    deps.events.signals.on("appended", wake);
    this.unsubscribe = () => deps.events.signals.off("appended", wake);
  }

  /**
   * Starts every runner. Resolves once each has its checkpoint row, so a processor that starts
   * "now" starts before anything the caller sends next (a failure to open is left to the runner's
   * loop, which waits out a lost database).
   */
  async start(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.open()));
    if (this.deps.leases) await this.deps.leases.start(this);
    else for (const runner of this.runners) runner.start();
  }

  /** Stops every runner; with `drainMs`, each first catches up with the log for at most that long. */
  async stop(drainMs = 0): Promise<void> {
    this.unsubscribe();
    await this.deps.leases?.pause();
    await Promise.all(this.runners.map((r) => r.stop(drainMs)));
    await this.deps.leases?.release();
  }

  /** Every processor's ID (the leases spread these over the processes). */
  get processorIds(): string[] {
    return this.runners.map((r) => r.step.id);
  }

  /** Starts one processor's runner (its lease was taken). */
  startOne(processorId: string): void {
    this.runner(processorId)?.start();
  }

  /** Stops one processor's runner after the batch in hand (its lease is handed over or lost). */
  async stopOne(processorId: string): Promise<void> {
    await this.runner(processorId)?.stop();
  }

  runner(processorId: string): Runner | undefined {
    return this.runners.find((r) => r.step.id === processorId);
  }

  /**
   * Resolves when every projection has passed the event at `position` (read-your-writes by
   * position); false when `timeoutMs` ran out first.
   */
  async waitForProjections(position: bigint, timeoutMs: number): Promise<boolean> {
    const target = await this.deps.events.locate(position);
    if (!target) return true;
    const projections = this.runners.filter((r) => r.step.kind === "PROJECTION");
    const passed = (c: LogCheckpoint | undefined) => !!c && !isAfter(target, c);
    const pending = projections.filter((r) => !passed(r.checkpoint));
    if (pending.length === 0) return true;
    // A projection that reads none of the events up to there was not woken by them: wake it
    // (here; one in another process is woken by that process's share of the append's NOTIFY).
    for (const runner of pending) runner.notify();
    // Scale-out: a projection running in another process moves only its stored checkpoint, and a
    // lease may move while this waits: with leases, follow the stored checkpoints.
    if (this.deps.leases || pending.some((r) => r.state !== "running")) {
      return this.pollCheckpoints(pending, passed, timeoutMs);
    }
    return new Promise((resolve) => {
      const left = new Set(pending);
      const offs = pending.map((runner) =>
        runner.onProgress((checkpoint) => {
          if (passed(checkpoint)) left.delete(runner);
          if (left.size === 0) finish(true);
        }),
      );
      const timer = setTimeout(() => finish(false), timeoutMs);
      function finish(ok: boolean) {
        clearTimeout(timer);
        for (const off of offs) off();
        resolve(ok);
      }
    });
  }

  /** Waits, reading the stored checkpoints, until each runner's processor has `passed`. */
  private async pollCheckpoints(
    runners: readonly Runner[],
    passed: (c: LogCheckpoint | undefined) => boolean,
    timeoutMs: number,
  ): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stored = await this.checkpoints.loadAll(runners.map((r) => r.step.id));
      if ([...stored.values()].every(passed)) return true;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Where a processor starts the first time: as it declares, else now for sagas and event
 * handlers (reacting to last month's events would send commands and notifications again) and
 * the beginning for projections and snapshots (they hold state built from all of history).
 */
export function startFrom(processor: RegisteredProcessor["processor"]): StartFrom {
  if ("from" in processor && processor.from) return processor.from;
  return processor.kind === "SAGA" || processor.kind === "EVENT_HANDLER" ? "now" : "beginning";
}
