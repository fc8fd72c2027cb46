/**
 * Processes stored commands against their aggregates: decide on the aggregate's state (from a
 * bounded cache, or loaded by the one aggregate loader: latest snapshot + later events), then
 * commit through the group committer, where the events, the command's DONE mark and its
 * PROCESSED result commit in one transaction with other commands' — so a command is applied at
 * most once even when two workers race for it, and its outcome is never lost. Commands on one aggregate run one at a
 * time, in arrival order; a stale state (a conflict) is evicted, loaded and decided again.
 */
import type { AggregateLoader } from "../aggregates/loader.ts";
import { type AnyAggregate, asEvents, replay } from "../core/aggregate.ts";
import { CoreCode, DomainError, StagelineError, VersionConflict } from "../core/errors.ts";
import type { StreamKey } from "../core/messages.ts";
import type { Registry } from "../core/registry.ts";
import type { CommandResult } from "../core/stages.ts";
import type { Logger } from "../logger.ts";
import type { CommandStore, StoredCommand } from "../store/command-store.ts";
import type { EventLog } from "../store/event-log.ts";
import type { ResultStore } from "../store/result-store.ts";
import type { SqlClient } from "../store/sql.ts";
import { AggregateCache } from "./aggregate-cache.ts";
import {
  type Decision,
  type GroupCommitOptions,
  GroupCommitter,
  type GroupItem,
  type GroupOutcome,
} from "./group-commit.ts";
import { KeyedQueue } from "./keyed-queue.ts";
import type { ResultBus } from "./result-bus.ts";

export interface AggregateProcessorDeps {
  sql: SqlClient;
  events: EventLog;
  /** Loads an aggregate the cache does not hold (the app's one loader). */
  loader: AggregateLoader;
  commands: CommandStore;
  results: ResultStore;
  registry: Registry;
  bus: ResultBus;
  logger: Logger;
  /**
   * Decide again at most this often after another process wrote the aggregate first (a
   * conflict with the client's own expectedVersion is never retried).
   */
  maxRetries: number;
  /** Aggregates whose state and version are kept in memory (0: none, always load). */
  cacheSize?: number;
  groupCommit?: Partial<GroupCommitOptions>;
}

export class AggregateProcessor {
  private readonly queue = new KeyedQueue();
  private readonly cache: AggregateCache;
  private readonly committer: GroupCommitter;

  constructor(private readonly deps: AggregateProcessorDeps) {
    this.cache = new AggregateCache(deps.cacheSize ?? 10_000);
    this.committer = new GroupCommitter(deps, {
      maxCommands: deps.groupCommit?.maxCommands ?? 100,
      concurrency: deps.groupCommit?.concurrency ?? 1,
    });
  }

  /** Processes the stored command (in order with others on its aggregate) and returns its new results. */
  async process(command: StoredCommand): Promise<CommandResult[]> {
    const processed = await this.queue.run(cacheKey(command), () => this.processNow(command, false));
    return processed.results;
  }

  /**
   * Accepts a command not stored yet and processes it, both in its group's transaction (for a
   * caller that waits beyond SENT). `accepted: false`: its request ID is taken, nothing was
   * stored — settle it with the command store's `accept`. Throws when it could not be stored.
   */
  acceptAndProcess(
    command: Omit<StoredCommand, "status" | "createdAt">,
  ): Promise<{ accepted: boolean; results: CommandResult[] }> {
    // Decided before it is stored: its creation time is this clock's, not the database's.
    const unstored: StoredCommand = { ...command, status: "PENDING", createdAt: new Date() };
    return this.queue.run(cacheKey(unstored), () => this.processNow(unstored, true));
  }

  /** Decided commands waiting to join the next group commit (for metrics and tests). */
  get commitsWaiting(): number {
    return this.committer.waitingCount;
  }

  private async processNow(
    command: StoredCommand,
    unstored: boolean,
  ): Promise<{ accepted: boolean; results: CommandResult[] }> {
    // Not stored yet: the first commit that gets through stores it.
    let fresh = unstored;
    const { registry, logger, maxRetries } = this.deps;
    const registered = registry.command(command.aggregateName, command.type);
    const key = cacheKey(command);
    const stream = {
      tenantId: command.tenantId,
      aggregateName: command.aggregateName,
      aggregateId: command.aggregateId,
    };
    // After its group failed as a whole, a command commits in a transaction of its own.
    let alone = false;
    for (let attempt = 0; ; ) {
      let decided: { decision: Decision; state?: unknown };
      if (registered) decided = await this.decide(registered.aggregate, command, stream, key);
      else {
        decided = {
          decision: reject(null, null, CoreCode.UNKNOWN_COMMAND, `Unknown command ${command.type}`),
        };
      }
      const item: GroupItem = { command, stream, decision: decided.decision, fresh };
      let outcome: GroupOutcome;
      // A transaction that threw stored nothing, a fresh command included.
      let rolledBack = false;
      try {
        outcome = alone ? await this.committer.alone(item) : await this.committer.submit(item);
      } catch (error) {
        this.cache.evict(key);
        if (!alone) {
          // The whole group rolled back (a race on the unique index, a lost connection, a bad
          // row): nothing of this command's processing was kept (it is PENDING, or not stored
          // at all if it was fresh); decide it again and commit it alone.
          logger.debug({ err: error, commandId: command.commandId }, "group commit failed; deciding again alone");
          alone = true;
          continue;
        }
        if (!(error instanceof VersionConflict)) throw error;
        outcome = { kind: "conflict" };
        rolledBack = true;
      }
      if (outcome.kind === "committed") {
        if (registered && "state" in decided) this.remember(registered.aggregate, key, decided, outcome);
        return { accepted: true, results: outcome.results };
      }
      if (outcome.kind === "duplicate") return { accepted: false, results: [] };
      // A conflict in a committed group still stored a fresh command (its SENT): from here it is
      // decided again like any stored command.
      if (!rolledBack) fresh = false;
      this.cache.evict(key);
      if (outcome.kind === "already-processed") {
        return { accepted: true, results: await this.deps.results.byCommand(command.commandId) };
      }
      alone = true;
      if (attempt < maxRetries) {
        // Another process wrote the stream between our read and our commit. Decide again after
        // a short random pause, so two writers that keep colliding fall out of step.
        await sleep(Math.random() * Math.min(2 ** attempt, 50));
        attempt++;
        continue;
      }
      logger.warn({ commandId: command.commandId, attempts: attempt + 1 }, "command gave up after version conflicts");
      const gaveUp = await this.committer.alone({
        command,
        stream,
        fresh,
        decision: reject(
          null,
          null,
          CoreCode.VERSION_CONFLICT,
          `The aggregate kept changing under the command (${attempt + 1} attempts): stream ${command.aggregateName}-${command.aggregateId} moved on`,
        ),
      });
      if (gaveUp.kind === "duplicate") return { accepted: false, results: [] };
      return {
        accepted: true,
        results: gaveUp.kind === "committed" ? gaveUp.results : await this.deps.results.byCommand(command.commandId),
      };
    }
  }

  /** Keeps the state after a committed decision, so the aggregate's next command needs no read. */
  private remember(
    aggregate: AnyAggregate,
    key: string,
    decided: { decision: Decision; state?: unknown },
    outcome: Extract<GroupOutcome, { kind: "committed" }>,
  ): void {
    const { decision } = decided;
    if (decision.kind === "accepted") {
      const state = replay(aggregate, outcome.recorded, decided.state);
      this.cache.set(key, { state, version: outcome.recorded.at(-1)?.version ?? decision.version });
    } else if (decision.basedOn !== null) {
      this.cache.set(key, { state: decided.state, version: decision.basedOn });
    }
  }

  private async decide(
    aggregate: AnyAggregate,
    command: StoredCommand,
    stream: StreamKey,
    key: string,
  ): Promise<{ decision: Decision; state: unknown }> {
    const { state, version } = this.cache.get(key) ?? (await this.deps.loader.load(aggregate, stream));
    return { decision: this.decideOn(aggregate, command, state, version), state };
  }

  private decideOn(aggregate: AnyAggregate, command: StoredCommand, state: unknown, version: number): Decision {
    const spec = aggregate.commands[command.type];
    const mode = spec?.mode ?? "update";
    if (mode === "create" && version > 0) {
      return reject(
        version,
        version,
        CoreCode.AGGREGATE_ALREADY_EXISTS,
        `${aggregate.name} ${command.aggregateId} already exists`,
      );
    }
    if (mode === "update" && version === 0) {
      return reject(null, version, CoreCode.AGGREGATE_NOT_FOUND, `No ${aggregate.name} with ID ${command.aggregateId}`);
    }
    if (command.expectedVersion !== null && command.expectedVersion !== version) {
      return reject(
        version,
        version,
        CoreCode.VERSION_CONFLICT,
        `${aggregate.name} ${command.aggregateId} is at version ${version}, the command expected ${command.expectedVersion}`,
      );
    }
    try {
      const events = asEvents(
        aggregate.decide(
          {
            type: command.type,
            data: command.data,
            metadata: {
              commandId: command.commandId,
              tenantId: command.tenantId,
              aggregateId: command.aggregateId,
              header: command.header,
              createdAt: command.createdAt,
            },
          } as never,
          state,
        ),
      );
      return { kind: "accepted", version, events };
    } catch (error) {
      if (error instanceof DomainError) return reject(version, version, error.code, error.message);
      this.deps.logger.error({ err: error, commandId: command.commandId, type: command.type }, "decide threw");
      const code = error instanceof StagelineError ? error.code : CoreCode.DECIDE_FAILED;
      return reject(version, version, code, `The ${command.type} handler failed: ${(error as Error).message}`);
    }
  }
}

const cacheKey = (command: StoredCommand) => `${command.tenantId}/${command.aggregateName}/${command.aggregateId}`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const reject = (version: number | null, basedOn: number | null, code: string, message: string): Decision => ({
  kind: "rejected",
  version,
  basedOn,
  code,
  message,
});
