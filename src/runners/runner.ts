/**
 * The one runner loop every processor kind uses: read the log from the checkpoint (gap-safe),
 * in micro-batches (growing while behind, back to the configured size at the head); prepare the batch (outside a transaction), then apply it and store the
 * checkpoint and the processor's signals in one transaction; wake on appends, poll as a
 * fallback; retry a failing batch with backoff, then isolate the failing event and park it in
 * the dead-letter table (or hold its tenant), so one poison event never blocks the rest, and
 * one tenant's poison event never stops another tenant. A failed processor's signal carries a
 * stable code and a safe message; the detail goes to the log with the command ID.
 */
import { upcastRecorded } from "../core/aggregate.ts";
import { CoreCode, LeaseLost } from "../core/errors.ts";
import {
  checkpointOf,
  isAfter,
  LOG_START,
  type LogCheckpoint,
  type RecordedEvent,
  sameCheckpoint,
} from "../core/messages.ts";
import type { StartFrom } from "../core/processors.ts";
import type { Registry } from "../core/registry.ts";
import { failed, type NewResult, newResult, succeeded } from "../core/results.ts";
import { type CommandResult, STAGE_OF_KIND } from "../core/stages.ts";
import type { ResultBus } from "../gateway/result-bus.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { Logger } from "../logger.ts";
import { traceBatch } from "../ops/tracing.ts";
import type { CheckpointStore } from "../store/checkpoint-store.ts";
import type { DeadLetterStore } from "../store/dead-letter-store.ts";
import type { EventLog } from "../store/event-log.ts";
import { prismaSqlExecutor } from "../store/prisma-sql.ts";
import type { ResultStore } from "../store/result-store.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { isDatabaseUnavailable } from "../store/unavailable.ts";
import type { PreparedBatch, ProcessorStep, ResultsByCommand } from "./processor-adapters.ts";
import type { StageTracker } from "./stage-tracker.ts";

export interface RunnerOptions {
  batchSize: number;
  pollMs: number;
  maxAttempts: number;
  /**
   * What to do with an event that keeps failing. `dead-letter`: park it and go on. `stop`: park
   * it and hold its tenant: that tenant's later events (for this processor) are parked too, in
   * order, for replay once the cause is fixed, while every other tenant goes on. `halt`: the
   * whole runner stops (a rebuild's shadow runner: a rebuilt table with a gap is worthless).
   */
  onPoison: "dead-letter" | "stop" | "halt";
  /** Where the processor starts when it has no checkpoint yet (recorded with the checkpoint). */
  from?: StartFrom;
  /** Longest pause between retries of a failing batch. */
  maxBackoffMs?: number;
  /** Longest pause between attempts while the database is unreachable (default 2 s). */
  maxOutageBackoffMs?: number;
  /**
   * Read no further than this checkpoint (asked before every read): a projection rebuild's
   * runner follows the live runner this way and never passes it.
   */
  through?: () => Promise<LogCheckpoint>;
}

export interface RunnerDeps {
  prisma: PrismaClient;
  events: EventLog;
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterStore;
  /** Where the processor's signals go. Absent: a silent runner (a rebuild's shadow). */
  signals?: { results: ResultStore; bus: ResultBus; tracker: StageTracker };
  registry: Registry;
  logger: Logger;
  /** Scale-out: the lease this process must hold for each batch (absent: the only process). */
  fence?: RunnerFence;
}

/**
 * A processor's lease (src/runners/leases.ts): `holds` is asked before a batch's side effects,
 * `check` inside its transaction, before the checkpoint; either throws LeaseLost when lost.
 */
export interface RunnerFence {
  holds(processorId: string): boolean;
  check(executor: SqlExecutor, processorId: string): Promise<void>;
}

/** What a runner reports after each batch it committed. */
export interface RunnerProgress {
  checkpoint: LogCheckpoint;
  /** Events read in this batch (of every type, not only the ones the processor reads). */
  events: number;
  /** How long the batch took, from its read coming back to its commit (seconds). */
  seconds: number;
}

/** Someone else moved the processor's checkpoint (a projection rebuild): read again from it. */
class CheckpointMoved extends Error {}

/** `draining`: stopping, but first catching up with the log (graceful shutdown). */
export type RunnerState = "idle" | "running" | "draining" | "stopped" | "halted";

export class Runner {
  state: RunnerState = "idle";
  checkpoint: LogCheckpoint | undefined;
  /**
   * How many events the next read asks for. Adaptive: doubles while reads come back full (the
   * runner is behind: fewer, larger transactions catch up faster), up to MAX_BATCH_GROWTH × the
   * configured size, and is back at the configured size once a read comes back short (caught up:
   * small batches keep the stages of live commands quick).
   */
  batchLimit: number;
  /** Why the runner halted (onPoison "halt"). */
  failure: { position: bigint; error: unknown } | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private woken = false;
  /**
   * The latest event announced to this runner (see `notify`) that it may not have read yet: a
   * short read that stops before it was held back by the xmin horizon, known without a query.
   */
  private announcedUpTo: LogCheckpoint | undefined;
  private readonly progress = new Set<(checkpoint: LogCheckpoint, batch: RunnerProgress) => void>();
  private readonly caughtUp = new Set<() => void>();
  private drainUntil = 0;
  /** Tenants whose events this processor parks instead of processing (onPoison "stop"). */
  private held = new Set<string>();
  /** When the batch in hand started (performance.now()), for RunnerProgress.seconds. */
  private batchStarted = 0;
  /**
   * A pipelined step's batch still in flight (ProcessorStep.pipelined), and where it ends: the
   * next read starts there instead of at the committed checkpoint.
   */
  private inFlight: { task: Promise<void>; next: LogCheckpoint; settled: boolean }[] = [];

  constructor(
    readonly step: ProcessorStep,
    private readonly deps: RunnerDeps,
    private readonly options: RunnerOptions,
  ) {
    this.batchLimit = options.batchSize;
  }

  start(): void {
    if (this.state === "running") return;
    this.state = "running";
    this.loop = this.run();
  }

  /**
   * Creates the checkpoint row now if it is missing (a `from: "now"` processor then starts at
   * the log's head as of this call), so that events appended after the caller started the
   * runners are the processor's to read. Failures are left to the loop, which waits them out.
   */
  async open(): Promise<void> {
    await this.deps.checkpoints.open(this.step.id, this.options.from).catch(() => undefined);
  }

  /**
   * Stops after the batch in hand. With `drainMs`, first keeps reading until the log is
   * exhausted or the time is up, so a graceful shutdown leaves the checkpoint at the head.
   */
  async stop(drainMs = 0): Promise<void> {
    if (this.state === "running") {
      this.state = drainMs > 0 ? "draining" : "stopped";
      this.drainUntil = Date.now() + drainMs;
    }
    this.notify();
    await this.loop;
    if (this.state === "draining") this.state = "stopped";
  }

  /** Resolves when the loop has ended (stopped, or halted on a poison event). */
  async ended(): Promise<void> {
    await this.loop;
  }

  /**
   * New events may be there (`events`: the ones just appended, when known): read soon instead of
   * at the next poll. Cheap and idempotent: a busy runner only marks itself dirty and reads once
   * more after its batch; an idle one wakes, yields to whatever else is ready to run (the
   * command path that appended), then reads once for every announcement that arrived meanwhile.
   */
  notify(events?: readonly RecordedEvent[]): void {
    const last = events?.at(-1);
    if (last && (!this.announcedUpTo || isAfter(last, this.announcedUpTo))) {
      this.announcedUpTo = { transactionId: last.transactionId, position: last.position };
    }
    this.woken = true;
    this.wake?.();
  }

  /** Called with each new checkpoint (read-your-writes waits on these). */
  onProgress(listener: (checkpoint: LogCheckpoint, batch: RunnerProgress) => void): () => void {
    this.progress.add(listener);
    return () => this.progress.delete(listener);
  }

  /** Called each time a read found less than a full batch: the runner is at the head (or its bound). */
  onCaughtUp(listener: () => void): () => void {
    this.caughtUp.add(listener);
    return () => this.caughtUp.delete(listener);
  }

  private async run(): Promise<void> {
    const { logger } = this.deps;
    let failures = 0;
    let outage = 0;
    let isolate = false;
    this.batchLimit = this.options.batchSize;
    // Pause before the next quick re-read while the xmin horizon holds events back (0: none).
    let heldBackMs = 0;
    // Loaded (or created) inside the loop, where a lost database is waited out.
    this.checkpoint = undefined;
    while (this.state === "running" || this.state === "draining") {
      // Whether events were announced since the last read: then a short read may mean held back.
      const announced = this.woken;
      this.woken = false;
      let read = 0;
      let limit = this.options.batchSize;
      try {
        if (!this.checkpoint) {
          const opened = await this.deps.checkpoints.open(this.step.id, this.options.from);
          this.held = await this.deps.checkpoints.heldTenants(this.step.id);
          this.checkpoint = opened;
        }
        limit = isolate ? 1 : this.batchLimit;
        const from = this.inFlight.at(-1)?.next ?? this.checkpoint;
        const batch = await this.deps.events.readAll(from, limit, {
          through: await this.options.through?.(),
        });
        read = batch.events.length;
        if (read > 0) {
          const started = performance.now();
          const before = this.inFlight.at(-1)?.task;
          const task = traceBatch(this.step, batch.events, () =>
            this.process(batch.events, from, batch.checkpoint, read >= limit, started, before),
          );
          if (this.step.pipelined && !isolate && this.state === "running") {
            // A saga's batch mostly waits for its commands: read and start the next ones
            // meanwhile (each commits after the one before, and its reactions follow earlier
            // batches' on shared aggregates), at most PIPELINE_DEPTH at once.
            const entry = { task, next: batch.checkpoint, settled: false };
            task.then(
              () => {
                entry.settled = true;
              },
              () => {},
            );
            this.inFlight.push(entry);
            while (this.inFlight[0]?.settled) this.inFlight.shift();
            if (this.inFlight.length >= PIPELINE_DEPTH) {
              await this.inFlight[0]!.task;
              this.inFlight.shift();
              failures = 0;
            }
          } else {
            await task;
            this.inFlight = [];
            failures = 0;
            isolate = false;
          }
        } else if (this.inFlight.length > 0) {
          // Nothing more to read yet: see the batches in flight through before deciding to sleep.
          // Only a batch seen through counts as a success (a failing one is retried, then isolated).
          await this.settleInFlight(true);
          failures = 0;
        }
        if (!isolate) {
          this.batchLimit =
            read >= limit
              ? Math.min(Math.max(limit * 2, this.options.batchSize), this.options.batchSize * MAX_BATCH_GROWTH)
              : this.options.batchSize;
        }
        if (read < limit) for (const listener of this.caughtUp) listener();
        // A short read although events lie past the checkpoint: a transaction still running
        // somewhere on the server (not necessarily an append: any writer, another runner's batch)
        // held the xmin horizon back. It usually ends within milliseconds and may announce
        // nothing when it does: read again soon (backing off to the poll interval), not at the
        // next poll. Asked only after an announcement or while already held back, so an idle
        // runner's poll costs no extra query.
        if (read < limit && !this.options.through && (announced || heldBackMs > 0)) {
          // Events announced in-process tell by themselves whether the read stopped short of
          // them; otherwise ask. Only a hint: a failure must not count against the batch.
          const upTo = this.announcedUpTo;
          const readTo = this.inFlight.at(-1)?.next ?? this.checkpoint;
          const held = upTo ? isAfter(upTo, readTo) : await this.deps.events.hasEventsAfter(readTo).catch(() => false);
          if (!held) this.announcedUpTo = undefined;
          heldBackMs = held ? Math.min(Math.max(heldBackMs * 2, QUICK_REREAD_MS), this.options.pollMs) : 0;
        } else if (read >= limit) heldBackMs = 0;
        if (outage > 0) logger.info({ processor: this.step.id, attempts: outage }, "database back; runner resumed");
        outage = 0;
      } catch (error) {
        // A pipelined batch failed (or the read did): the one after it is abandoned (it cannot
        // commit past a batch that did not); once it settled, read again from the checkpoint.
        await this.settleInFlight(false);
        if (error instanceof LeaseLost) {
          logger.warn(
            { processor: this.step.id },
            "runner fenced: its lease is gone; batch not applied, runner stopped",
          );
          this.state = "stopped";
          break;
        }
        if (this.state === "draining") break;
        if (error instanceof CheckpointMoved) {
          logger.info({ processor: this.step.id }, "checkpoint moved (projection rebuilt); reading on from it");
          this.checkpoint = undefined;
          continue;
        }
        // A lost database is no fault of the events: wait it out without counting attempts
        // towards parking, and say so once rather than at every retry.
        if (isDatabaseUnavailable(error)) {
          if (outage++ === 0)
            logger.warn({ err: error, processor: this.step.id }, "database unavailable; runner waiting");
          await this.sleep(Math.min(100 * 2 ** outage, this.options.maxOutageBackoffMs ?? 2_000));
          continue;
        }
        failures++;
        const event = isolate ? await this.firstEvent().catch(() => undefined) : undefined;
        if (event && failures >= this.options.maxAttempts) {
          if (this.options.onPoison === "halt") {
            logger.error(
              { err: error, processor: this.step.id, position: String(event.position) },
              "runner halted on a poison event",
            );
            this.state = "halted";
            this.failure = { position: event.position, error };
            break;
          }
          this.batchStarted = performance.now();
          await this.park(event, error, failures, this.options.onPoison === "stop").catch((e: unknown) =>
            logger.error({ err: e, processor: this.step.id }, "parking a poison event failed"),
          );
          failures = 0;
          isolate = false;
          continue;
        }
        // After a batch failed often enough, go one event at a time to find the culprit.
        if (failures >= this.options.maxAttempts) isolate = true;
        logger.warn({ err: error, processor: this.step.id, failures }, "runner batch failed; retrying");
        await this.sleep(Math.min(50 * 2 ** failures, this.options.maxBackoffMs ?? 30_000));
        continue;
      }
      if (this.state === "draining") {
        if (Date.now() > this.drainUntil) break;
        // Caught up with what is readable. Events may still lie past the horizon (a transaction
        // elsewhere on the server holds it back): wait for them until the deadline.
        if (read === 0) {
          const behind = await this.deps.events.hasEventsAfter(this.checkpoint ?? LOG_START).catch(() => false);
          if (!behind) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
      }
      if (read < limit) await this.sleep(heldBackMs > 0 ? heldBackMs : this.options.pollMs);
    }
    await this.settleInFlight(false);
  }

  /**
   * Waits for every pipelined batch in flight; `rethrow`: the first failure (in log order: the
   * batches after a failed one fail because of it) is the caller's.
   */
  private async settleInFlight(rethrow: boolean): Promise<void> {
    const inFlight = this.inFlight.splice(0);
    if (inFlight.length === 0) return;
    const settled = await Promise.allSettled(inFlight.map((e) => e.task));
    const failed = settled.find((s) => s.status === "rejected");
    if (failed && rethrow) throw failed.reason;
  }

  /**
   * Processors are written against the current event shapes; the log keeps what was written.
   * Every event is lifted by its aggregate's upcaster before any processor sees it, as
   * aggregate loading (replay) already does.
   */
  private upcast(event: RecordedEvent): RecordedEvent {
    return upcastRecorded(this.deps.registry.aggregate(event.aggregateName)?.aggregate, event);
  }

  private async firstEvent(): Promise<RecordedEvent | undefined> {
    const batch = await this.deps.events.readAll(this.checkpoint, 1, { through: await this.options.through?.() });
    return batch.events[0];
  }

  /** `behind`: the read came back full (see `toStore`). */
  private async process(
    read: readonly RecordedEvent[],
    from: LogCheckpoint,
    next: LogCheckpoint,
    behind: boolean,
    started = performance.now(),
    before?: Promise<void>,
  ): Promise<void> {
    if (this.deps.fence && !this.deps.fence.holds(this.step.id)) throw new LeaseLost(this.step.id, 0n);
    // A held tenant's events are parked, not processed (onPoison "stop"): split them off first.
    const heldEvents = this.held.size > 0 ? read.filter((e) => this.held.has(e.tenantId)) : [];
    const processed = heldEvents.length > 0 ? read.filter((e) => !this.held.has(e.tenantId)) : read;
    const { events, relevant, prepared } = await prepareBatch(this.step, this.deps.registry, processed);
    const heldRelevant = heldEvents.filter((e) => this.step.eventTypes.has(this.upcast(e).type));
    const signals = [
      ...this.signals(events, relevant, prepared.resultsByCommand, undefined),
      ...this.signals(heldEvents, heldRelevant, undefined, HELD),
    ];
    // The batch before this one (pipelined) commits first; if it failed, so does this one.
    if (before) await before;
    const stored = await this.commit(
      from,
      next,
      async (tx) => {
        await prepared.apply?.(tx);
        for (const event of heldRelevant) {
          await this.deps.deadLetters.park(tx.sql, this.step.id, event, heldReason(event.tenantId), 0);
        }
      },
      this.toStore(signals, !behind),
    );
    for (const event of heldRelevant) {
      this.deps.logger.warn(
        {
          processor: this.step.id,
          tenantId: event.tenantId,
          position: String(event.position),
          commandId: event.commandId,
        },
        "event of a held tenant parked in dead letters",
      );
    }
    this.advance(next, stored, signals, read.length, started);
  }

  /**
   * Parks a poison event; with `hold`, also holds its tenant in the same transaction, so the
   * tenant's later events are parked behind it (in order) while other tenants go on.
   */
  private async park(event: RecordedEvent, error: unknown, attempts: number, hold: boolean): Promise<void> {
    const detail = error instanceof Error ? error.message : String(error);
    const next = checkpointOf(event);
    const lifted = this.upcast(event);
    const relevant = this.step.eventTypes.has(lifted.type) ? [lifted] : [];
    const signals = this.signals([event], relevant, undefined, FAILED);
    const stored = await this.commit(
      this.checkpoint ?? LOG_START,
      next,
      async (tx) => {
        await this.deps.deadLetters.park(tx.sql, this.step.id, event, detail, attempts);
        if (hold && relevant.length > 0) await this.deps.checkpoints.hold(tx.sql, this.step.id, event.tenantId);
      },
      this.toStore(signals, true),
    );
    if (hold && relevant.length > 0) this.held.add(event.tenantId);
    // The detail stays here and in dead_letters; the client's result has only the safe message.
    this.deps.logger.error(
      {
        err: error,
        processor: this.step.id,
        position: String(event.position),
        type: event.type,
        commandId: event.commandId,
        tenantId: event.tenantId,
        held: hold && relevant.length > 0,
      },
      "event parked in dead letters",
    );
    this.advance(next, stored, signals, 1);
  }

  private async commit(
    from: LogCheckpoint,
    next: LogCheckpoint,
    work: (tx: {
      prisma: Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];
      sql: ReturnType<typeof prismaSqlExecutor>;
    }) => Promise<void>,
    signals: NewResult[],
  ): Promise<CommandResult[]> {
    return this.deps.prisma.$transaction(
      async (prisma) => {
        const sql = prismaSqlExecutor(prisma);
        // Lock the checkpoint before any other write (see CheckpointStore.lock), and make sure
        // nobody moved it since this batch was read: else the batch would apply twice.
        const current = (await this.deps.checkpoints.lock(sql, this.step.id)) ?? LOG_START;
        if (!sameCheckpoint(current, from)) {
          throw new CheckpointMoved();
        }
        await work({ prisma, sql });
        const stored = this.deps.signals ? await this.deps.signals.results.insert(signals, sql) : [];
        await this.deps.fence?.check(sql, this.step.id);
        await this.deps.checkpoints.save(sql, this.step.id, next);
        return stored;
      },
      { maxWait: 30_000, timeout: 60_000 },
    );
  }

  private advance(
    next: LogCheckpoint,
    stored: CommandResult[],
    signals: { result: NewResult; eventTypes: string[]; stageStored?: boolean }[],
    events: number,
    started = this.batchStarted,
  ): void {
    this.checkpoint = next;
    const sink = this.deps.signals;
    if (sink) {
      sink.bus.publish(stored);
      // The stages this batch's statement stored already (see toStore) need no tracking.
      const pending = new Map(signals.filter((s) => !s.stageStored).map((s) => [s.result.commandId, s.eventTypes]));
      const toTrack = stored.filter((r) => r.scope === "PROCESSOR" && pending.has(r.commandId));
      if (toTrack.length > 0) {
        void sink.tracker
          .onSignals(toTrack.map((signal) => ({ signal, eventTypes: pending.get(signal.commandId) ?? [] })))
          .catch((err: unknown) => this.deps.logger.warn({ err, processor: this.step.id }, "stage tracking failed"));
      }
    }
    const seconds = (performance.now() - started) / 1000;
    for (const listener of this.progress) listener(next, { checkpoint: next, events, seconds });
  }

  /**
   * What the batch's one results statement stores: every PROCESSOR signal and, with
   * `withStages`, for each command whose stage this processor completes alone (no other
   * processor of its kind reads its events), the STAGE result too: a live batch then costs no
   * second statement, its stages are published at the commit, and they commit with the
   * checkpoint. The other stages are the tracker's, after the commit. A runner that is behind
   * (a full read) leaves all stages to the tracker: the tracker's insert then runs beside the
   * next batch instead of lengthening this one (catch-up measured 0.19–0.22× the write limit
   * with the stages in the batch statement, 0.25–0.30× without).
   */
  private toStore(
    signals: { result: NewResult; eventTypes: string[]; stageStored?: boolean }[],
    withStages: boolean,
  ): NewResult[] {
    const tracker = this.deps.signals?.tracker;
    if (!tracker || !withStages) return signals.map((s) => s.result);
    const stages: NewResult[] = [];
    for (const signal of signals) {
      const stage = tracker.stageAlone(signal.result, signal.eventTypes);
      signal.stageStored = stage !== undefined;
      if (stage) stages.push(stage);
    }
    return [...signals.map((s) => s.result), ...stages];
  }

  /** One PROCESSOR result per command that had an event this processor reads. */
  private signals(
    all: readonly RecordedEvent[],
    relevant: readonly RecordedEvent[],
    resultsByCommand: ResultsByCommand | undefined,
    failure: typeof FAILED | typeof HELD | undefined,
  ): { result: NewResult; eventTypes: string[] }[] {
    const byCommand = new Map<string, RecordedEvent[]>();
    for (const event of all) byCommand.set(event.commandId, [...(byCommand.get(event.commandId) ?? []), event]);
    const commands = new Set(relevant.map((e) => e.commandId));
    return [...commands].map((commandId) => {
      const events = byCommand.get(commandId) ?? [];
      const last = events.at(-1)!;
      const registered = this.deps.registry.aggregate(last.aggregateName);
      return {
        eventTypes: events.map((e) => e.type),
        result: newResult(
          {
            commandId,
            correlationId: last.correlationId,
            tenantId: last.tenantId,
            contextName: registered?.contextName ?? "",
            aggregateName: last.aggregateName,
            aggregateId: last.aggregateId,
            requestId: last.requestId,
          },
          {
            stage: STAGE_OF_KIND[this.step.kind],
            scope: "PROCESSOR",
            function: {
              functionKind: this.step.kind,
              contextName: this.step.contextName,
              processorName: this.step.name,
              name: this.step.kind.toLowerCase(),
            },
            outcome: failure ? failed(failure, safeMessage(failure, this.step.id, commandId)) : succeeded,
            aggregateVersion: last.version,
            positions: events.map((e) => e.position),
            result: resultsByCommand?.get(commandId) ?? {},
          },
        ),
      };
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.state !== "running") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      // Woken: yield a turn of the event loop first, so the appender's own continuation (the
      // answer to its client) runs before this read, and wake-ups arriving together make one read.
      this.wake = () => {
        this.wake = undefined;
        clearTimeout(timer);
        setImmediate(resolve);
      };
    });
  }
}

/**
 * Batches a pipelined runner (a saga) has in flight at most. A saga's batch takes a few commit
 * cycles whatever its size (its commands, then its checkpoint); with one batch at a time the saga
 * fell seconds behind a sustained load, its batches never full enough to grow.
 */
export const PIPELINE_DEPTH = 4;

/** How far the batch size may grow while a runner is behind (× the configured size). */
export const MAX_BATCH_GROWTH = 10;

/** The first pause before re-reading when the xmin horizon held events back. */
const QUICK_REREAD_MS = 5;

/** The codes a failed processor signal carries: stable, for clients to branch on. */
const FAILED = CoreCode.PROCESSOR_FAILED;
const HELD = CoreCode.PROCESSOR_HELD;

/**
 * What a client reads about a processor's failure. Never the error itself: in development it
 * holds source paths and code, in production Prisma's model and constraint names. The detail
 * is in the server log, found by the command ID.
 */
function safeMessage(code: typeof FAILED | typeof HELD, processorId: string, commandId: string): string {
  return code === FAILED
    ? `Processor ${processorId} could not handle this command's event (a poison event, set aside for replay). The server log has the detail (command ${commandId}).`
    : `Processor ${processorId} holds this tenant's events after an earlier one failed; this one was set aside for replay (command ${commandId}).`;
}

const heldReason = (tenantId: string) =>
  `held: an earlier event of tenant ${tenantId} was poison for this processor (RUNNER_ON_POISON=stop)`;

/**
 * The one batch step of every runner, live or a rebuild's: lift each event by its aggregate's
 * upcaster (processors are written against the current shapes, the log keeps what was
 * written), keep the ones the processor reads, and prepare them.
 */
export async function prepareBatch(
  step: ProcessorStep,
  registry: Registry,
  read: readonly RecordedEvent[],
): Promise<{ events: RecordedEvent[]; relevant: RecordedEvent[]; prepared: PreparedBatch }> {
  const events = read.map((e) => upcastRecorded(registry.aggregate(e.aggregateName)?.aggregate, e));
  const relevant = events.filter((e) => step.eventTypes.has(e.type));
  const prepared: PreparedBatch = relevant.length > 0 ? await step.prepare(relevant) : {};
  return { events, relevant, prepared };
}
