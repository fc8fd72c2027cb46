/**
 * Processes one stored command against its aggregate: load (latest snapshot + later events),
 * decide, append with optimistic concurrency. The events, the command's DONE mark and its
 * PROCESSED result commit in one transaction, so a command is applied at most once even when
 * two workers race for it, and its outcome is never lost.
 */
import { type AnyAggregate, asEvents, replay } from "../core/aggregate.ts";
import { DomainError, StagelineError, VersionConflict } from "../core/errors.ts";
import type { DomainEvent, RecordedEvent, StreamKey } from "../core/messages.ts";
import { type CommandResult, OK } from "../core/stages.ts";
import type { Logger } from "../logger.ts";
import type { CommandStore, StoredCommand } from "../store/command-store.ts";
import type { EventLog } from "../store/event-log.ts";
import type { NewResult, ResultStore } from "../store/result-store.ts";
import type { SnapshotStore } from "../store/snapshot-store.ts";
import type { SqlClient } from "../store/sql.ts";
import { KeyedQueue } from "./keyed-queue.ts";
import type { Registry } from "./registry.ts";
import type { ResultBus } from "./result-bus.ts";
import { stagesReachedAtOnce } from "./stage-rules.ts";

export interface AggregateProcessorDeps {
  sql: SqlClient;
  events: EventLog;
  snapshots: SnapshotStore;
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
}

type Decision =
  | { kind: "accepted"; version: number; events: DomainEvent[] }
  | { kind: "rejected"; version: number | null; code: string; message: string };

/** Another processor already stored this command's outcome. */
class AlreadyProcessed extends Error {}

export interface LoadedAggregate<State = unknown> {
  state: State;
  version: number;
}

export class AggregateProcessor {
  private readonly queue = new KeyedQueue();

  constructor(private readonly deps: AggregateProcessorDeps) {}

  /** Processes the command (in order with others on its aggregate) and returns its new results. */
  process(command: StoredCommand): Promise<CommandResult[]> {
    return this.queue.run(`${command.tenantId}/${command.aggregateName}/${command.aggregateId}`, () =>
      this.processNow(command),
    );
  }

  /** The aggregate's current state: latest usable snapshot plus the events after it. */
  async load(aggregate: AnyAggregate, stream: StreamKey): Promise<LoadedAggregate> {
    const snapshot = await this.deps.snapshots.load(stream);
    const usable = snapshot && snapshot.stateVersion === (aggregate.snapshotVersion ?? 1) ? snapshot : undefined;
    const events = await this.deps.events.readStream(stream, usable?.version ?? 0);
    const state = replay(aggregate, events, usable ? usable.state : aggregate.initialState());
    return { state, version: events.at(-1)?.version ?? usable?.version ?? 0 };
  }

  private async processNow(command: StoredCommand): Promise<CommandResult[]> {
    const { registry, logger, maxRetries } = this.deps;
    const registered = registry.command(command.aggregateName, command.type);
    for (let attempt = 0; ; attempt++) {
      const decision: Decision = registered
        ? await this.decide(registered.aggregate, command)
        : { kind: "rejected", version: null, code: "UNKNOWN_COMMAND", message: `Unknown command ${command.type}` };
      try {
        return await this.commit(command, decision);
      } catch (error) {
        if (error instanceof AlreadyProcessed) return this.deps.results.byCommand(command.commandId);
        if (!(error instanceof VersionConflict)) throw error;
        if (attempt < maxRetries) {
          // Another process wrote the stream between our load and our append. Decide again
          // after a short random pause, so two writers that keep colliding fall out of step.
          await sleep(Math.random() * Math.min(2 ** attempt, 50));
          continue;
        }
        logger.warn({ commandId: command.commandId, attempts: attempt + 1 }, "command gave up after version conflicts");
        return this.commit(command, {
          kind: "rejected",
          version: null,
          code: error.code,
          message: `The aggregate kept changing under the command (${attempt + 1} attempts): ${error.message}`,
        }).catch((e: unknown) => {
          if (e instanceof AlreadyProcessed) return this.deps.results.byCommand(command.commandId);
          throw e;
        });
      }
    }
  }

  private async decide(aggregate: AnyAggregate, command: StoredCommand): Promise<Decision> {
    const stream = {
      tenantId: command.tenantId,
      aggregateName: command.aggregateName,
      aggregateId: command.aggregateId,
    };
    const { state, version } = await this.load(aggregate, stream);
    const spec = aggregate.commands[command.type];
    const mode = spec?.mode ?? "update";
    if (mode === "create" && version > 0) {
      return reject(version, "AGGREGATE_ALREADY_EXISTS", `${aggregate.name} ${command.aggregateId} already exists`);
    }
    if (mode === "update" && version === 0) {
      return reject(null, "AGGREGATE_NOT_FOUND", `No ${aggregate.name} with ID ${command.aggregateId}`);
    }
    if (command.expectedVersion !== null && command.expectedVersion !== version) {
      return reject(
        version,
        "VERSION_CONFLICT",
        `${aggregate.name} ${command.aggregateId} is at version ${version}, the command expected ${command.expectedVersion}`,
      );
    }
    try {
      const events = asEvents(
        aggregate.decide(
          {
            type: command.type,
            data: command.body,
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
      if (error instanceof DomainError) return reject(version, error.code, error.message);
      this.deps.logger.error({ err: error, commandId: command.commandId, type: command.type }, "decide threw");
      const code = error instanceof StagelineError ? error.code : "DECIDE_FAILED";
      return reject(version, code, `The ${command.type} handler failed: ${(error as Error).message}`);
    }
  }

  private async commit(command: StoredCommand, decision: Decision): Promise<CommandResult[]> {
    const { sql, events: log, commands, results, registry, bus } = this.deps;
    const aggregate = registry.aggregate(command.aggregateName);
    const stream = {
      tenantId: command.tenantId,
      aggregateName: command.aggregateName,
      aggregateId: command.aggregateId,
    };
    let recorded: RecordedEvent[] = [];
    const stored = await sql.transaction(async (tx) => {
      // Lock the command row first: a second processor of the same command waits here, then
      // finds it DONE and rolls back.
      if (!(await commands.markDone(tx, command.commandId))) throw new AlreadyProcessed();
      if (decision.kind === "accepted") {
        recorded = await log.append(
          stream,
          decision.version,
          decision.events,
          {
            commandId: command.commandId,
            requestId: command.requestId,
            correlationId: command.correlationId,
            causationId: command.causationId,
          },
          tx,
        );
      }
      const processed = processedResult(
        command,
        aggregate?.aggregate.name ?? command.aggregateName,
        decision,
        recorded,
      );
      const atOnce =
        decision.kind === "accepted"
          ? stagesReachedAtOnce(
              registry,
              recorded.map((e) => e.type),
            ).map((stage) => runnerStageResult(processed, stage))
          : [];
      return results.insert([processed, ...atOnce], tx);
    });
    log.notifyAppended(recorded);
    bus.publish(stored);
    return stored;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const reject = (version: number | null, code: string, message: string): Decision => ({
  kind: "rejected",
  version,
  code,
  message,
});

function processedResult(
  command: StoredCommand,
  processorName: string,
  decision: Decision,
  recorded: readonly RecordedEvent[],
): NewResult {
  const accepted = decision.kind === "accepted";
  return {
    commandId: command.commandId,
    waitCommandId: command.waitCommandId,
    stage: "PROCESSED",
    scope: "STAGE",
    tenantId: command.tenantId,
    contextName: command.contextName,
    aggregateName: command.aggregateName,
    aggregateId: command.aggregateId,
    aggregateVersion: accepted ? (recorded.at(-1)?.version ?? decision.version) : decision.version,
    requestId: command.requestId,
    function: { functionKind: "AGGREGATE", contextName: command.contextName, processorName, name: command.type },
    errorCode: accepted ? OK : decision.code,
    errorMsg: accepted ? "" : decision.message,
    bindingErrors: [],
    result: accepted ? { eventTypes: recorded.map((e) => e.type) } : {},
    succeeded: accepted,
    positions: recorded.map((e) => e.position),
  };
}

function runnerStageResult(processed: NewResult, stage: NewResult["stage"]): NewResult {
  return {
    ...processed,
    stage,
    function: { functionKind: "GATEWAY", contextName: "", processorName: "", name: "no interested processor" },
    result: {},
  };
}
