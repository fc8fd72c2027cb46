/**
 * What the console's GraphQL fields ask of Stageline, in one place: a tenant's recent commands
 * and chains with their results, the live feed of commands as they are sent, and (for admins)
 * processors with their lag and dead letters, retried or discarded with the operations the
 * CLI uses too (src/runners/dead-letters.ts). Tenant checks happen here; the GraphQL layer only translates.
 */
import type { App } from "../app.ts";
import { CommandNotFound } from "../core/errors.ts";
import type { CommandResult } from "../core/stages.ts";
import type { ResultBus } from "../gateway/result-bus.ts";
import { discardDeadLetter, retryDeadLetter } from "../runners/dead-letters.ts";
import type { ConsoleCommand, ConsoleQueries } from "../store/console-queries.ts";
import type { OpsQueries, StoredDeadLetter } from "../store/ops-queries.ts";
import { recentResults } from "./results-feed.ts";

/** A parked event as the console shows it. */
export type DeadLetterView = StoredDeadLetter;

export interface ConsoleCommandView extends ConsoleCommand {
  /** Every result stored for the command when it was read, oldest first. */
  results: CommandResult[];
}

export interface ProcessorView {
  id: string;
  kind: string;
  contextName: string;
  position: bigint;
  eventsBehind: number;
  secondsBehind: number;
  updatedAt: Date | null;
  deadLetters: number;
  heldTenants: string[];
}

/** Who asks: the tenant, and the signed-in subject (absent without authentication). */
export interface Viewer {
  tenantId: string;
  subject?: string | undefined;
}

export interface ConsoleDeps {
  queries: ConsoleQueries;
  ops: OpsQueries;
  bus: ResultBus;
  /** AUTH_RESULTS_SENDER_ONLY: results (so the console's commands) are their sender's only. */
  resultsSenderOnly: boolean;
  /** What a dead-letter retry uses: the runners, the registry and the database. */
  app: Pick<App, "runners" | "registry" | "db">;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The most commands one chain query returns: a runaway saga must not make one answer huge. */
const MAX_CHAIN = 500;
/** Live commands a slow subscriber may have pending before the oldest are dropped. */
const FEED_BUFFER = 500;
/** How far back the feed re-reads the store after the signal connection came back. */
const RESYNC_SECONDS = 60;

export class ConsoleService {
  constructor(private readonly deps: ConsoleDeps) {}

  async recentCommands(viewer: Viewer, first: number, before?: string): Promise<ConsoleCommandView[]> {
    if (before !== undefined && !UUID.test(before)) throw new CommandNotFound(before);
    return this.withResults(
      await this.deps.queries.recentCommands(viewer.tenantId, first, before, this.senderFilter(viewer)),
    );
  }

  /** Every command of the chain `commandId` belongs to (its root's tree), oldest first. */
  async chain(viewer: Viewer, commandId: string): Promise<ConsoleCommandView[]> {
    const sender = this.senderFilter(viewer);
    const [command] = UUID.test(commandId)
      ? await this.deps.queries.commands(viewer.tenantId, [commandId], sender)
      : [];
    if (!command) throw new CommandNotFound(commandId);
    return this.withResults(await this.deps.queries.chain(viewer.tenantId, command.correlationId, MAX_CHAIN, sender));
  }

  /**
   * With AUTH_RESULTS_SENDER_ONLY, a signed-in caller sees only the chains it sent (and those
   * with no recorded sender), as its result subscriptions do (src/auth/scopes.ts).
   */
  private senderFilter(viewer: Viewer): string | undefined {
    return this.deps.resultsSenderOnly ? viewer.subject : undefined;
  }

  /**
   * The tenant's commands as they are sent: told by the bus's "command sent" signal (this
   * process's SENT results, and other processes' announced by cross-process signals). After a
   * lost signal connection the bus asks for a resync, and the last minute is re-read from the
   * store: the only re-read. Each is yielded once; a subscriber that falls FEED_BUFFER behind
   * loses the oldest (the list query has them).
   */
  async *commandsSent(viewer: Viewer, signal: AbortSignal): AsyncGenerator<ConsoleCommandView> {
    const seen = new Set<string>();
    const pending = new Set<string>();
    let wake: (() => void) | undefined;
    const push = (ids: readonly string[]) => {
      for (const id of ids) if (!seen.has(id)) pending.add(id);
      for (const id of pending) {
        if (pending.size <= FEED_BUFFER) break;
        pending.delete(id);
      }
      wake?.();
    };
    const offs = [
      this.deps.bus.onSent((sent) => {
        if (sent.tenantId === viewer.tenantId) push([sent.commandId]);
      }),
      this.deps.bus.onResync(() => {
        this.deps.queries.sentSince(viewer.tenantId, RESYNC_SECONDS, FEED_BUFFER, this.senderFilter(viewer)).then(
          (commands) => push(commands.map((c) => c.commandId)),
          () => {}, // The database is away too: recentCommands has them once it is back.
        );
      }),
    ];
    const aborted = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    try {
      while (!signal.aborted) {
        if (pending.size === 0) {
          await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
          wake = undefined;
          continue;
        }
        const ids = [...pending];
        pending.clear();
        // The signal comes after the command's transaction committed, so each is there to read.
        const commands = await this.withResults(
          await this.deps.queries.commands(viewer.tenantId, ids, this.senderFilter(viewer)),
        );
        for (const command of commands) {
          seen.add(command.commandId);
          if (seen.size > 10 * FEED_BUFFER) seen.delete(seen.values().next().value as string);
          yield command;
        }
      }
    } finally {
      for (const off of offs) off();
    }
  }

  /**
   * The results of the tenant's newest `first` commands and of every command sent after, as
   * they are stored (results-feed.ts): one stream keeps a whole list's progress current.
   */
  recentResults(viewer: Viewer, first: number, signal: AbortSignal): AsyncGenerator<CommandResult> {
    return recentResults(this.deps, { tenantId: viewer.tenantId, sender: this.senderFilter(viewer) }, first, signal);
  }

  async processors(): Promise<ProcessorView[]> {
    const { registry, runners } = this.deps.app;
    const ids = registry.processors.map((p) => p.id);
    const [lag, dead, held] = await Promise.all([
      this.deps.ops.processorLag(ids),
      this.deps.ops.deadLetterCounts(),
      Promise.all(ids.map((id) => runners.checkpoints.heldTenants(id))),
    ]);
    const byId = new Map(registry.processors.map((p) => [p.id, p]));
    return lag.map((p, i) => ({
      id: p.processorId,
      kind: byId.get(p.processorId)?.processor.kind ?? "?",
      contextName: byId.get(p.processorId)?.contextName ?? "",
      position: p.checkpoint.position,
      eventsBehind: p.eventsBehind,
      secondsBehind: p.secondsBehind,
      updatedAt: p.updatedAt,
      deadLetters: dead.get(p.processorId) ?? 0,
      heldTenants: [...(held[i] ?? [])].sort(),
    }));
  }

  deadLetters(processor?: string): Promise<StoredDeadLetter[]> {
    return this.deps.ops.deadLetters(processor);
  }

  retryDeadLetter(processor: string, position: bigint): Promise<void> {
    return retryDeadLetter(this.deps.app, this.deps.ops, processor, position);
  }

  discardDeadLetter(processor: string, position: bigint): Promise<void> {
    return discardDeadLetter(this.deps.ops, processor, position);
  }

  private async withResults(commands: ConsoleCommand[]): Promise<ConsoleCommandView[]> {
    const results = await this.deps.queries.results(commands.map((c) => c.commandId));
    return commands.map((c) => ({ ...c, results: results.get(c.commandId) ?? [] }));
  }
}
