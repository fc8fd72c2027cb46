/**
 * The one runner loop every processor kind uses: read the log from the checkpoint (gap-safe),
 * in micro-batches; prepare the batch (outside a transaction), then apply it and store the
 * checkpoint and the processor's signals in one transaction; wake on appends, poll as a
 * fallback; retry a failing batch with backoff, then isolate the failing event and park it in
 * the dead-letter table (or stop), so one poison event never blocks the rest.
 */
import { upcastRecorded } from "../core/aggregate.ts";
import type { LogCheckpoint, RecordedEvent } from "../core/messages.ts";
import { type CommandResult, OK, STAGE_OF_KIND } from "../core/stages.ts";
import type { Registry } from "../gateway/registry.ts";
import type { ResultBus } from "../gateway/result-bus.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { Logger } from "../logger.ts";
import type { CheckpointStore } from "../store/checkpoint-store.ts";
import type { DeadLetterStore } from "../store/dead-letter-store.ts";
import type { EventLog } from "../store/event-log.ts";
import { prismaSqlExecutor } from "../store/prisma-sql.ts";
import type { NewResult, ResultStore } from "../store/result-store.ts";
import type { CommandOutputs, PreparedBatch, ProcessorStep } from "./processor-adapters.ts";
import type { StageTracker } from "./stage-tracker.ts";

export interface RunnerOptions {
  batchSize: number;
  pollMs: number;
  maxAttempts: number;
  onPoison: "dead-letter" | "stop";
  /** Longest pause between retries of a failing batch. */
  maxBackoffMs?: number;
}

export interface RunnerDeps {
  prisma: PrismaClient;
  events: EventLog;
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterStore;
  results: ResultStore;
  bus: ResultBus;
  tracker: StageTracker;
  registry: Registry;
  logger: Logger;
}

export type RunnerState = "idle" | "running" | "stopped" | "halted";

export class Runner {
  state: RunnerState = "idle";
  checkpoint: LogCheckpoint | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private woken = false;
  private readonly progress = new Set<(checkpoint: LogCheckpoint) => void>();

  constructor(
    readonly step: ProcessorStep,
    private readonly deps: RunnerDeps,
    private readonly options: RunnerOptions,
  ) {}

  start(): void {
    if (this.state === "running") return;
    this.state = "running";
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (this.state === "running") this.state = "stopped";
    this.notify();
    await this.loop;
  }

  /** New events may be there: read now instead of at the next poll. */
  notify(): void {
    this.woken = true;
    this.wake?.();
  }

  /** Called with each new checkpoint (read-your-writes waits on these). */
  onProgress(listener: (checkpoint: LogCheckpoint) => void): () => void {
    this.progress.add(listener);
    return () => this.progress.delete(listener);
  }

  private async run(): Promise<void> {
    const { logger } = this.deps;
    let failures = 0;
    let isolate = false;
    try {
      this.checkpoint = await this.deps.checkpoints.load(this.step.id);
    } catch (error) {
      logger.error({ err: error, processor: this.step.id }, "runner cannot load its checkpoint");
    }
    while (this.state === "running") {
      this.woken = false;
      let read = 0;
      try {
        this.checkpoint ??= await this.deps.checkpoints.load(this.step.id);
        const batch = await this.deps.events.readAll(this.checkpoint, isolate ? 1 : this.options.batchSize);
        read = batch.events.length;
        if (read > 0) {
          await this.process(batch.events, batch.checkpoint);
          failures = 0;
          isolate = false;
        }
      } catch (error) {
        failures++;
        const event = isolate ? await this.firstEvent() : undefined;
        if (event && failures >= this.options.maxAttempts) {
          if (this.options.onPoison === "stop") {
            logger.error(
              { err: error, processor: this.step.id, position: String(event.position) },
              "runner halted on a poison event",
            );
            this.state = "halted";
            break;
          }
          await this.park(event, error, failures).catch((e: unknown) =>
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
      if (read === 0 || read < this.options.batchSize) await this.sleep(this.options.pollMs);
    }
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
    const batch = await this.deps.events.readAll(this.checkpoint, 1);
    return batch.events[0];
  }

  private async process(read: readonly RecordedEvent[], next: LogCheckpoint): Promise<void> {
    const events = read.map((e) => this.upcast(e));
    const relevant = events.filter((e) => this.step.eventTypes.has(e.type));
    const prepared: PreparedBatch = relevant.length > 0 ? await this.step.prepare(relevant) : {};
    const signals = this.signals(events, relevant, prepared.outputs, undefined);
    const stored = await this.commit(
      next,
      async (tx) => {
        await prepared.apply?.(tx);
      },
      signals.map((s) => s.result),
    );
    this.advance(next, stored, signals);
  }

  private async park(event: RecordedEvent, error: unknown, attempts: number): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const next = { transactionId: event.transactionId, position: event.position };
    const lifted = this.upcast(event);
    const relevant = this.step.eventTypes.has(lifted.type) ? [lifted] : [];
    const signals = this.signals([event], relevant, undefined, message);
    const stored = await this.commit(
      next,
      (tx) => this.deps.deadLetters.park(tx.sql, this.step.id, event, message, attempts),
      signals.map((s) => s.result),
    );
    this.deps.logger.error(
      { processor: this.step.id, position: String(event.position), type: event.type, error: message },
      "event parked in dead letters",
    );
    this.advance(next, stored, signals);
  }

  private async commit(
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
        await work({ prisma, sql });
        const stored = await this.deps.results.insert(signals, sql);
        await this.deps.checkpoints.save(sql, this.step.id, next);
        return stored;
      },
      { maxWait: 30_000, timeout: 60_000 },
    );
  }

  private advance(
    next: LogCheckpoint,
    stored: CommandResult[],
    signals: { result: NewResult; eventTypes: string[] }[],
  ): void {
    this.checkpoint = next;
    this.deps.bus.publish(stored);
    const types = new Map(signals.map((s) => [s.result.commandId, s.eventTypes]));
    void this.deps.tracker
      .onSignals(stored.map((signal) => ({ signal, eventTypes: types.get(signal.commandId) ?? [] })))
      .catch((err: unknown) => this.deps.logger.warn({ err, processor: this.step.id }, "stage tracking failed"));
    for (const listener of this.progress) listener(next);
  }

  /** One PROCESSOR result per command that had an event this processor reads. */
  private signals(
    all: readonly RecordedEvent[],
    relevant: readonly RecordedEvent[],
    outputs: CommandOutputs | undefined,
    failure: string | undefined,
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
        result: {
          commandId,
          waitCommandId: last.correlationId,
          stage: STAGE_OF_KIND[this.step.kind],
          scope: "PROCESSOR",
          tenantId: last.tenantId,
          contextName: registered?.contextName ?? "",
          aggregateName: last.aggregateName,
          aggregateId: last.aggregateId,
          aggregateVersion: last.version,
          requestId: last.requestId,
          function: {
            functionKind: this.step.kind,
            contextName: this.step.contextName,
            processorName: this.step.name,
            name: this.step.kind.toLowerCase(),
          },
          errorCode: failure ? "PROCESSOR_FAILED" : OK,
          errorMsg: failure ?? "",
          bindingErrors: [],
          result: outputs?.get(commandId) ?? {},
          succeeded: !failure,
          positions: events.map((e) => e.position),
        },
      };
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.state !== "running") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}
