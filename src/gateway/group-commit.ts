/**
 * Group commit: decided commands that arrive while a commit is running wait for it to end and
 * then commit together, in one transaction of a few statements whatever their number — accept
 * the new ones (idempotency record and SENT, for callers that wait beyond SENT), mark them all
 * DONE (and read each stream's version), append every stream's events, store every result. So
 * at load a commit (and its round trips) is shared by many commands, and at one client nothing
 * waits: a command arriving while no commit runs starts one at once. No timer is involved.
 *
 * A decision taken on a state that moved on (another process wrote the stream) is a conflict of
 * that command alone: its mark is taken back in the same transaction and it is decided again; the
 * rest of the group commits. Anything that fails the whole transaction (a race on the unique
 * index, a lost connection) rolls the whole group back: every command in it is still PENDING (or,
 * if the group was accepting it, not stored at all) and its processor decides it again alone, so
 * one bad command cannot fail the others twice.
 */
import type { DomainEvent, RecordedEvent, StreamKey } from "../core/messages.ts";
import type { Registry } from "../core/registry.ts";
import { failed, gatewayFunction, type NewResult, newResult, sentResult, succeeded } from "../core/results.ts";
import type { CommandResult } from "../core/stages.ts";
import { traceparentOf } from "../ops/tracing.ts";
import type { CommandStore, StoredCommand } from "../store/command-store.ts";
import type { EventLog } from "../store/event-log.ts";
import type { ResultStore } from "../store/result-store.ts";
import type { SqlClient } from "../store/sql.ts";
import type { ResultBus } from "./result-bus.ts";
import { stagesReachedAtOnce } from "./stage-rules.ts";

export type Decision =
  | { kind: "accepted"; version: number; events: DomainEvent[] }
  | {
      kind: "rejected";
      /** The version the result reports (null: no aggregate). */
      version: number | null;
      /** The version of the state the refusal was decided on; null when no state was read. */
      basedOn: number | null;
      code: string;
      message: string;
    };

export interface GroupItem {
  command: StoredCommand;
  stream: StreamKey;
  decision: Decision;
  /**
   * Not stored yet (its caller waits beyond SENT): the group accepts it first — its idempotency
   * record and SENT result, in the same transaction, published before its other results.
   */
  fresh?: boolean;
}

export type GroupOutcome =
  | { kind: "committed"; results: CommandResult[]; recorded: RecordedEvent[] }
  /** Another processor stored this command's outcome first: nothing was written for it. */
  | { kind: "already-processed" }
  /** The stream is no longer at the version the decision read: decide again (a fresh command is now stored). */
  | { kind: "conflict" }
  /** A fresh command whose request ID is taken: nothing was written for it. */
  | { kind: "duplicate" };

export interface GroupCommitOptions {
  /** The most commands one transaction commits. */
  maxCommands: number;
  /** Transactions committing at once (each takes a connection; PGlite has only one). */
  concurrency: number;
}

interface Waiting {
  item: GroupItem;
  resolve: (outcome: GroupOutcome) => void;
  reject: (error: unknown) => void;
}

export class GroupCommitter {
  private waiting: Waiting[] = [];
  private running = 0;

  constructor(
    private readonly deps: {
      sql: SqlClient;
      events: EventLog;
      commands: CommandStore;
      results: ResultStore;
      registry: Registry;
      bus: ResultBus;
    },
    private readonly options: GroupCommitOptions,
  ) {}

  /** Commits the item with whatever else is waiting; rejects when its group's transaction failed. */
  submit(item: GroupItem): Promise<GroupOutcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.flush();
    });
  }

  /** Commands decided and waiting for the running commit to end (they form the next group). */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Commits the item in a transaction of its own (after its group failed). */
  async alone(item: GroupItem): Promise<GroupOutcome> {
    const [outcome] = await this.commit([item]);
    return outcome!;
  }

  private flush(): void {
    while (this.running < this.options.concurrency && this.waiting.length > 0) {
      const group = this.waiting.splice(0, this.options.maxCommands);
      this.running++;
      // The next group forms while this one commits, and leaves as soon as it ends.
      void this.commit(group.map((w) => w.item))
        .then(
          (outcomes) => {
            for (const [i, w] of group.entries()) w.resolve(outcomes[i]!);
          },
          (error: unknown) => {
            for (const w of group) w.reject(error);
          },
        )
        .finally(() => {
          this.running--;
          this.flush();
        });
    }
  }

  private async commit(items: readonly GroupItem[]): Promise<GroupOutcome[]> {
    const { sql, events: log, commands, results, registry, bus } = this.deps;
    const outcomes: (GroupOutcome | undefined)[] = items.map(() => undefined);
    let recorded: RecordedEvent[][] = items.map(() => []);
    let sent: CommandResult[] = [];
    const stored = await sql.transaction(async (tx) => {
      const fresh = items.filter((i) => i.fresh);
      const accepted = await commands.acceptMany(
        tx,
        fresh.map((i) => i.command),
      );
      sent = fresh.flatMap((i) => {
        const row = accepted.get(i.command.commandId);
        return row ? [sentResult(i.command, row.sentResultId, row.sentAt)] : [];
      });
      for (const [i, item] of items.entries()) {
        if (item.fresh && !accepted.has(item.command.commandId)) outcomes[i] = { kind: "duplicate" };
      }
      // Locks each command row first: a second processor of one command waits here, then finds
      // it DONE and leaves it out.
      const versions = await commands.markDoneMany(
        tx,
        items.flatMap((item, i) =>
          outcomes[i] === undefined ? [{ commandId: item.command.commandId, ...item.stream }] : [],
        ),
      );
      const conflicted: string[] = [];
      for (const [i, item] of items.entries()) {
        if (outcomes[i] !== undefined) continue;
        const version = versions.get(item.command.commandId);
        const basedOn = item.decision.kind === "accepted" ? item.decision.version : item.decision.basedOn;
        if (version === undefined) outcomes[i] = { kind: "already-processed" };
        else if (basedOn !== null && version !== basedOn) {
          outcomes[i] = { kind: "conflict" };
          conflicted.push(item.command.commandId);
        }
      }
      const appending = items.flatMap((item, i) =>
        outcomes[i] === undefined && item.decision.kind === "accepted" && item.decision.events.length > 0 ? [i] : [],
      );
      const appended = await log.appendMany(
        appending.map((i) => {
          const { command, stream, decision } = items[i]!;
          return {
            stream,
            expectedVersion: decision.version ?? 0,
            events: decision.kind === "accepted" ? decision.events : [],
            metadata: {
              commandId: command.commandId,
              requestId: command.requestId,
              correlationId: command.correlationId,
              causationId: command.causationId,
              traceparent: traceparentOf(command),
            },
          };
        }),
        tx,
      );
      recorded = items.map(() => []);
      for (const [j, i] of appending.entries()) {
        if (appended.conflicts.has(j)) {
          outcomes[i] = { kind: "conflict" };
          conflicted.push(items[i]!.command.commandId);
        } else recorded[i] = appended.recorded[j]!;
      }
      await commands.unmark(tx, conflicted);

      const toStore: NewResult[] = [];
      for (const [i, item] of items.entries()) {
        if (outcomes[i] !== undefined) continue;
        const processorName =
          registry.aggregate(item.command.aggregateName)?.aggregate.name ?? item.command.aggregateName;
        const processed = processedResult(item.command, processorName, item.decision, recorded[i]!);
        toStore.push(processed);
        if (item.decision.kind === "accepted") {
          const types = recorded[i]!.map((e) => e.type);
          for (const stage of stagesReachedAtOnce(registry, types)) toStore.push(runnerStageResult(processed, stage));
        }
      }
      return results.insert(toStore, tx);
    });
    const byCommand = new Map<string, CommandResult[]>();
    for (const result of stored) {
      const list = byCommand.get(result.commandId);
      if (list) list.push(result);
      else byCommand.set(result.commandId, [result]);
    }
    log.notifyAppended(recorded.flat());
    // SENT first: a subscriber sees a command's acceptance before anything else of it.
    bus.publish([...sent, ...stored]);
    return items.map(
      (item, i) =>
        outcomes[i] ?? {
          kind: "committed",
          results: byCommand.get(item.command.commandId) ?? [],
          recorded: recorded[i]!,
        },
    );
  }
}

function processedResult(
  command: StoredCommand,
  processorName: string,
  decision: Decision,
  recorded: readonly RecordedEvent[],
): NewResult {
  const accepted = decision.kind === "accepted";
  return newResult(command, {
    stage: "PROCESSED",
    scope: "STAGE",
    function: { functionKind: "AGGREGATE", contextName: command.contextName, processorName, name: command.type },
    outcome: accepted ? succeeded : failed(decision.code, decision.message),
    aggregateVersion: accepted ? (recorded.at(-1)?.version ?? decision.version) : decision.version,
    positions: recorded.map((e) => e.position),
    result: accepted ? { eventTypes: recorded.map((e) => e.type) } : {},
  });
}

function runnerStageResult(processed: NewResult, stage: NewResult["stage"]): NewResult {
  return {
    ...processed,
    stage,
    function: gatewayFunction("no interested processor", ""),
    result: {},
  };
}
