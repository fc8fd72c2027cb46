/**
 * Rebuilding a projection without downtime. The projection's declared tables get empty shadow
 * twins; a silent runner (the one runner loop, on a Prisma client bound to the shadow schema)
 * replays the log into them, following the live runner's checkpoint and never passing it. Once
 * it is within a batch of the live runner, one transaction locks the live checkpoint (the live
 * runner's next batch waits on that lock), applies the few events between the shadow and the
 * live checkpoint, swaps the tables and commits. The live checkpoint is left where it was: the
 * new tables hold exactly the events up to it, so the live runner goes on from there, and
 * nothing is lost or applied twice. Readers see the old tables until the commit.
 */
import { randomUUID } from "node:crypto";
import {
  CoreCode,
  ProjectionNotRebuildable,
  RebuildFailed,
  RebuildInProgress,
  StagelineError,
  UnknownProjection,
} from "../core/errors.ts";
import { LOG_START } from "../core/messages.ts";
import type { Projection } from "../core/processors.ts";
import type { RegisteredProcessor, Registry } from "../core/registry.ts";
import type { Logger } from "../logger.ts";
import type { CheckpointStore } from "../store/checkpoint-store.ts";
import type { Database } from "../store/database.ts";
import type { DeadLetterStore } from "../store/dead-letter-store.ts";
import type { EventLog } from "../store/event-log.ts";
import { prismaSqlExecutor } from "../store/prisma-sql.ts";
import { createShadowTables, dropShadowTables, SHADOW_SCHEMA, swapInShadowTables } from "../store/shadow-tables.ts";
import { projectionStep } from "./processor-adapters.ts";
import { prepareBatch, Runner, type RunnerOptions } from "./runner.ts";

/** REPLAYING: filling the shadow tables. SWAPPING: in the swap transaction. */
export type RebuildState = "REPLAYING" | "SWAPPING" | "DONE" | "FAILED";

export interface RebuildProgress {
  rebuildId: string;
  /** The projection's ID: `context.name`. */
  projection: string;
  tables: readonly string[];
  state: RebuildState;
  /** Log events replayed so far (of every type). */
  processed: number;
  /** Events in the log (counted at the start; grows with `processed` when appends overtake it). */
  total: number;
  percent: number;
  eventsPerSecond: number;
  startedAt: Date;
  finishedAt: Date | null;
  errorCode: string | null;
  errorMsg: string | null;
}

export interface RebuildOptions {
  /** Runs after the shadow has caught up, before the swap transaction (tests look at the live rows here). */
  beforeSwap?: () => Promise<void>;
}

export interface RebuildDeps {
  db: Pick<Database, "sql" | "prismaInSchema">;
  events: EventLog;
  registry: Registry;
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterStore;
  logger: Logger;
}

type RegisteredProjection = RegisteredProcessor & { processor: Projection };

const TERMINAL: ReadonlySet<RebuildState> = new Set(["DONE", "FAILED"]);

/** One rebuild: its latest progress (an immutable snapshot, replaced on every change) and its end. */
export class RebuildJob {
  progress: RebuildProgress;
  readonly done: Promise<RebuildProgress>;
  private finish!: (progress: RebuildProgress) => void;
  private next: { promise: Promise<void>; resolve: () => void } = deferred();

  constructor(projection: string, tables: readonly string[], total: number) {
    this.progress = {
      rebuildId: randomUUID(),
      projection,
      tables,
      state: "REPLAYING",
      processed: 0,
      total,
      percent: 0,
      eventsPerSecond: 0,
      startedAt: new Date(),
      finishedAt: null,
      errorCode: null,
      errorMsg: null,
    };
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  advance(events: number): void {
    const processed = this.progress.processed + events;
    const total = Math.max(this.progress.total, processed);
    const seconds = Math.max((Date.now() - this.progress.startedAt.getTime()) / 1000, 0.001);
    this.update({
      processed,
      total,
      // 100 only when done: the last events are applied in the swap.
      percent: total === 0 ? 99.9 : Math.min(99.9, Math.round((processed / total) * 1000) / 10),
      eventsPerSecond: Math.round(processed / seconds),
    });
  }

  update(change: Partial<RebuildProgress>): void {
    if (TERMINAL.has(this.progress.state)) return;
    this.progress = { ...this.progress, ...change };
    const { resolve } = this.next;
    this.next = deferred();
    resolve();
    if (TERMINAL.has(this.progress.state)) this.finish(this.progress);
  }

  /** The current progress, then each change (coalesced: a slow reader gets the latest), until the end. */
  async *watch(): AsyncGenerator<RebuildProgress> {
    let last: RebuildProgress | undefined;
    for (;;) {
      const current = this.progress;
      if (current !== last) {
        yield current;
        last = current;
        if (TERMINAL.has(current.state)) return;
      } else {
        await this.next.promise;
      }
    }
  }
}

export class ProjectionRebuilds {
  /** The latest rebuild of each projection (running or finished). */
  private readonly jobs = new Map<string, RebuildJob>();

  constructor(
    private readonly deps: RebuildDeps,
    private readonly options: Pick<RunnerOptions, "batchSize" | "pollMs" | "maxAttempts">,
  ) {}

  /** The projection by its ID (`banking.AccountView`) or, when unambiguous, its name (`AccountView`). */
  find(name: string): RegisteredProjection {
    const projections = this.deps.registry.processors.filter(
      (p): p is RegisteredProjection => p.processor.kind === "PROJECTION",
    );
    const matches = projections.filter((p) => p.id === name || p.processor.name === name);
    if (matches.length === 1) return matches[0]!;
    const known = projections.map((p) => p.id).join(", ");
    throw new UnknownProjection(
      matches.length === 0
        ? `No projection ${name}; known: ${known || "none"}`
        : `${name} names several projections; use one of ${matches.map((p) => p.id).join(", ")}`,
    );
  }

  /** The latest rebuild of the projection, if any ran in this process. */
  latest(name: string): RebuildJob | undefined {
    return this.jobs.get(this.find(name).id);
  }

  /** Starts rebuilding; the job reports progress and settles in `done` (never rejects). */
  async start(name: string, options: RebuildOptions = {}): Promise<RebuildJob> {
    const registered = this.find(name);
    const tables = registered.processor.tables ?? [];
    if (tables.length === 0) {
      throw new ProjectionNotRebuildable(
        `Projection ${registered.id} declares no tables; add \`tables: [...]\` to its definition to rebuild it`,
      );
    }
    const running = this.jobs.get(registered.id);
    if (running && !TERMINAL.has(running.progress.state)) {
      throw new RebuildInProgress(`Projection ${registered.id} is being rebuilt (${running.progress.rebuildId})`);
    }
    const job = new RebuildJob(registered.id, tables, 0);
    this.jobs.set(registered.id, job);
    void this.run(job, registered, tables, options);
    return job;
  }

  private async run(
    job: RebuildJob,
    registered: RegisteredProjection,
    tables: readonly string[],
    options: RebuildOptions,
  ): Promise<void> {
    const { db, events, checkpoints, logger } = this.deps;
    const liveId = registered.id;
    const shadowId = `${liveId}@rebuild`;
    const step = { ...projectionStep(registered), id: shadowId };
    const shadowPrisma = db.prismaInSchema(SHADOW_SCHEMA);
    logger.info({ projection: liveId, rebuildId: job.progress.rebuildId, tables }, "projection rebuild started");
    try {
      const total = await events.count();
      job.update({ total, percent: total === 0 ? 99.9 : 0 });
      await createShadowTables(db.sql, tables);
      await checkpoints.reset(shadowId);
      // The live checkpoint row must exist: the swap locks it.
      await checkpoints.open(liveId, registered.processor.from ?? "beginning");

      const runner = new Runner(
        step,
        { ...this.deps, prisma: shadowPrisma },
        {
          ...this.options,
          onPoison: "halt",
          through: () => checkpoints.load(liveId),
        },
      );
      runner.onProgress((_checkpoint, batch) => job.advance(batch.events));
      const caughtUp = new Promise<void>((resolve) => runner.onCaughtUp(resolve));
      runner.start();
      await Promise.race([caughtUp, runner.ended()]);
      await runner.stop();
      if (runner.failure) {
        const reason =
          runner.failure.error instanceof Error ? runner.failure.error.message : String(runner.failure.error);
        throw new RebuildFailed(`The projection failed on the event at position ${runner.failure.position}: ${reason}`);
      }
      await options.beforeSwap?.();

      job.update({ state: "SWAPPING" });
      let from = runner.checkpoint ?? LOG_START;
      await shadowPrisma.$transaction(
        async (tx) => {
          const sql = prismaSqlExecutor(tx);
          // The live runner takes this lock first in every batch: from here to the commit it waits.
          const live = (await checkpoints.lock(sql, liveId)) ?? LOG_START;
          // The events between the shadow and the live checkpoint (a batch or so; all final).
          for (;;) {
            const batch = await events.readAll(from, this.options.batchSize, { executor: sql, through: live });
            if (batch.events.length === 0) break;
            // The live runners' batch step (upcasting included), applied in this transaction.
            const { prepared } = await prepareBatch(step, this.deps.registry, batch.events);
            await prepared.apply?.({ prisma: tx, sql });
            from = batch.checkpoint;
            job.advance(batch.events.length);
          }
          await swapInShadowTables(sql, tables);
          await checkpoints.reset(shadowId, sql);
        },
        { maxWait: 30_000, timeout: 300_000 },
      );
      job.update({ state: "DONE", percent: 100, finishedAt: new Date() });
      logger.info(
        { projection: liveId, rebuildId: job.progress.rebuildId, events: job.progress.processed },
        "projection rebuilt and swapped in",
      );
    } catch (error) {
      const code = error instanceof StagelineError ? error.code : CoreCode.REBUILD_FAILED;
      const message = error instanceof Error ? error.message : String(error);
      logger.error({ err: error, projection: liveId, rebuildId: job.progress.rebuildId }, "projection rebuild failed");
      await dropShadowTables(db.sql, tables).catch(() => {});
      await checkpoints.reset(shadowId).catch(() => {});
      job.update({ state: "FAILED", errorCode: code, errorMsg: message, finishedAt: new Date() });
    } finally {
      await shadowPrisma.$disconnect().catch(() => {});
    }
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
