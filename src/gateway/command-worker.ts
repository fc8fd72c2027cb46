/**
 * Takes commands from the queue every process shares (src/store/command-queue.ts) and processes
 * them: asynchronous commands, and synchronous ones whose request died before processing them (a
 * crash). Each claim is the oldest PENDING command of its aggregate, so a batch holds at most one
 * command per aggregate and they all go in parallel (into one group commit); the next command of
 * an aggregate is claimed after its head is DONE, by whichever process looks first. A command
 * that throws is given back with a growing backoff: it holds back its own aggregate only, and
 * after `maxFailures` it is set aside with a COMMAND_FAILED answer (src/gateway/failed-commands.ts)
 * so the aggregate goes on. Claims
 * in hand are renewed at a third of their time to live; a crashed process's claims expire and
 * are taken again, in order. Wakes when told that a command was queued, and polls as a fallback,
 * so a restart loses none. Taking up commands stored before the start (a recovery) or left by
 * their requests is said in the log; each command is processed in its log context and trace
 * (src/ops/command-scope.ts).
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../logger.ts";
import { inWorkerScope } from "../ops/command-scope.ts";
import type { CommandQueue } from "../store/command-queue.ts";
import type { StoredCommand } from "../store/command-store.ts";
import type { ResultStore } from "../store/result-store.ts";
import type { SqlClient } from "../store/sql.ts";
import { isDatabaseUnavailable } from "../store/unavailable.ts";
import type { AggregateProcessor } from "./aggregate-processor.ts";
import { setAside } from "./failed-commands.ts";
import type { ResultBus } from "./result-bus.ts";

export interface CommandWorkerOptions {
  pollMs: number;
  batchSize: number;
  /** A sync command still PENDING after this long was abandoned by its request. */
  orphanAfterMs: number;
  /** A claim's time to live: a crashed process's commands are taken again after it. */
  claimTtlMs: number;
  /** A failing command is retried after `pollMs × 2^failures`, at most this long. */
  maxBackoffMs?: number;
  /** A command that failed this often is set aside with a COMMAND_FAILED answer (default 10). */
  maxFailures?: number;
  /** This process's name in the claims (default: host, pid and a random tag). */
  owner?: string;
}

export class CommandWorker {
  readonly owner: string;
  private running = false;
  private wake: (() => void) | undefined;
  /** Told of a command while not asleep (claiming, processing): look again before sleeping. */
  private told = false;
  private loop: Promise<void> | undefined;
  /** Commands stored before this are a recovery's (see reportRecovered). */
  private startedAt = new Date();

  constructor(
    private readonly deps: {
      queue: CommandQueue;
      processor: AggregateProcessor;
      logger: Logger;
      /** Where a command set aside gets its answer (stored, then published). */
      sql: SqlClient;
      results: ResultStore;
      bus: ResultBus;
    },
    private readonly options: CommandWorkerOptions,
  ) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = new Date();
    this.loop = this.run();
  }

  /** A command was queued: look now rather than at the next poll. */
  notify(): void {
    this.told = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    // Nothing should be left in hand; whatever is goes back at once rather than at its expiry.
    await this.deps.queue.releaseAll(this.owner).catch((err: unknown) => {
      this.deps.logger.warn({ err }, "releasing command claims failed; they expire");
    });
  }

  /**
   * Commands stored before this worker started (a restart after a crash or a stop), and
   * synchronous ones whose request gave up on them (orphans): one log line per batch that takes
   * any up, so a recovery shows in the log. Asynchronous commands sent since the start are the
   * worker's ordinary work and say nothing.
   */
  private reportRecovered(pending: readonly StoredCommand[]): Set<StoredCommand> {
    const recovered = new Set(pending.filter((c) => c.createdAt < this.startedAt || !c.async));
    if (recovered.size === 0) return recovered;
    const list = [...recovered];
    const beforeStart = list.filter((c) => c.createdAt < this.startedAt);
    const oldest = Math.min(...list.map((c) => c.createdAt.getTime()));
    this.deps.logger.info(
      {
        commands: list.length,
        storedBeforeStart: beforeStart.length,
        orphaned: list.filter((c) => !c.async).length,
        oldestAgeMs: Date.now() - oldest,
        commandIds: list.slice(0, 10).map((c) => c.commandId),
      },
      beforeStart.length > 0
        ? "taking up commands stored before this start (recovery)"
        : "taking up synchronous commands their requests left unprocessed",
    );
    return recovered;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let outage = false;
    while (this.running) {
      let claimed = 0;
      this.told = false;
      try {
        const batch = await this.deps.queue.claim({
          owner: this.owner,
          limit: this.options.batchSize,
          ttlMs: this.options.claimTtlMs,
          orphanAfterMs: this.options.orphanAfterMs,
        });
        claimed = batch.length;
        await this.processBatch(batch);
        if (failures > 0) this.deps.logger.info({ failures }, "command worker resumed");
        failures = 0;
      } catch (error) {
        failures++;
        outage = isDatabaseUnavailable(error);
        if (failures === 1 || !outage) {
          this.deps.logger.warn({ err: error, failures }, "command worker failed; backing off");
        }
      }
      // Anything claimed may have freed the next command of its aggregate: look again at once.
      if ((claimed === 0 && !this.told) || failures > 0) {
        // A database outage is waited out at a short, fixed pace so work resumes soon after it.
        const ceiling = outage ? 2_000 : 30_000;
        const delay = failures > 0 ? Math.min(this.options.pollMs * 2 ** failures, ceiling) : this.options.pollMs;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /**
   * One command per aggregate, all at once (the processor groups their commits). A command that
   * throws is given back with a backoff; the others of the batch are not held by it.
   */
  private async processBatch(batch: readonly StoredCommand[]): Promise<void> {
    if (batch.length === 0) return;
    const recovered = this.reportRecovered(batch);
    const inHand = new Set(batch.map((c) => c.commandId));
    const renewal = setInterval(
      () => {
        void this.deps.queue.renew(this.owner, [...inHand], this.options.claimTtlMs).catch((err: unknown) => {
          this.deps.logger.warn({ err }, "renewing command claims failed");
        });
      },
      Math.max(1, Math.floor(this.options.claimTtlMs / 3)),
    );
    try {
      await Promise.all(
        batch.map(async (command) => {
          try {
            await inWorkerScope(command, recovered.has(command), () => this.deps.processor.process(command));
          } catch (error) {
            await this.giveBack(command, error);
          } finally {
            inHand.delete(command.commandId);
          }
        }),
      );
    } finally {
      clearInterval(renewal);
    }
  }

  private async giveBack(command: StoredCommand, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const maxFailures = this.options.maxFailures ?? 10;
    // The database going away (a failover, a saturated pool's wait timing out) says nothing about
    // the command: it backs off but does not count toward being set aside, or a long outage would
    // answer every queued command COMMAND_FAILED.
    const counted = !isDatabaseUnavailable(error);
    const failures = await this.deps.queue
      .fail(
        this.owner,
        command.commandId,
        message,
        { baseMs: this.options.pollMs, maxMs: this.options.maxBackoffMs ?? 60_000 },
        counted,
      )
      .catch(() => undefined);
    const aggregate = `${command.aggregateName}/${command.aggregateId}`;
    if (counted && failures !== undefined && failures >= maxFailures) {
      // Given up: the command ends with an answer and its aggregate goes on. Should this not be
      // recorded now, its next failure tries again (its failures stay at the limit or above).
      try {
        const aside = await setAside(this.deps, command.commandId, maxFailures);
        if (aside) {
          this.deps.logger.warn(
            { err: error, commandId: command.commandId, aggregate, failures },
            "command set aside after failing too often: answered COMMAND_FAILED, kept for `stageline failed-commands retry`",
          );
          this.deps.bus.publish(aside.results);
          return;
        }
      } catch (setAsideError) {
        this.deps.logger.warn({ err: setAsideError, commandId: command.commandId }, "setting a command aside failed");
      }
    }
    this.deps.logger.warn(
      { err: error, commandId: command.commandId, aggregate, failures },
      "command failed; its aggregate waits for its retry (the claim expires if this could not be recorded)",
    );
  }
}
