/**
 * Stage signals and appends across processes on one PostgreSQL. What this process publishes
 * (results on its ResultBus, appends on its EventLog) goes out as one small message per tick
 * (a NOTIFY, or a Redis publish: src/store/signal-transport.ts) —
 * the IDs of the commands whose results were stored (with their chain roots), or just "appended".
 * What other processes announce comes in on one LISTEN connection: for each announced command a
 * local wait watches, its results are re-read from the store (the truth) and delivered to the
 * waits (which drop what they have seen); an append wakes the local runners. After the LISTEN
 * connection was lost, every watched command is re-read. The store re-read of the waits stays as
 * the fallback, so a lost notification costs latency, never a result. Accepted commands (SENT)
 * also carry their tenant, announced to the bus's `onSent` listeners (the console's live feed).
 */
import { randomUUID } from "node:crypto";
import type { CommandResult } from "../core/stages.ts";
import type { Logger } from "../logger.ts";
import type { EventLog } from "../store/event-log.ts";
import type { ResultStore } from "../store/result-store.ts";
import type { SignalTransport } from "../store/signal-transport.ts";
import type { ResultBus } from "./result-bus.ts";

export interface CrossProcessDeps {
  transport: SignalTransport;
  bus: ResultBus;
  results: ResultStore;
  events: EventLog;
  logger: Logger;
}

/**
 * A notification: the sender, command IDs paired with their chain roots, commands accepted
 * paired with their tenants, and whether events were appended.
 */
interface Message {
  o: string;
  c?: [string, string][];
  s?: [string, string][];
  a?: 1;
}

export class CrossProcessSignals {
  readonly origin = randomUUID().slice(0, 8);
  private pending = new Map<string, string>();
  private sent = new Map<string, string>();
  private appended = false;
  private flushing: NodeJS.Immediate | undefined;
  private readonly offs: (() => void)[] = [];
  /** Notifications received from other processes (tests, metrics). */
  received = 0;

  constructor(private readonly deps: CrossProcessDeps) {}

  async start(): Promise<void> {
    const { deps } = this;
    await deps.transport.start({
      onMessage: (payload) => this.receive(payload),
      onReconnect: () => {
        deps.logger.info("signal connection back; re-reading watched commands");
        void this.rereadWatched();
        deps.bus.resync();
        deps.events.signals.emit("appended", []);
      },
      onError: (err, attempt) => {
        if (attempt === 1)
          deps.logger.warn({ err }, "signal connection lost; reconnecting (waits fall back to re-reads)");
      },
    });
    const onResult = (result: CommandResult) => {
      this.pending.set(result.commandId, result.correlationId);
      if (result.stage === "SENT" && result.scope === "STAGE") this.sent.set(result.commandId, result.tenantId);
      this.schedule();
    };
    const onAppended = (events: readonly unknown[]) => {
      // An empty list is this module waking the runners on another process's append.
      if (events.length === 0) return;
      this.appended = true;
      this.schedule();
    };
    this.offs.push(this.deps.bus.onAny(onResult));
    this.deps.events.signals.on("appended", onAppended);
    this.offs.push(() => this.deps.events.signals.off("appended", onAppended));
  }

  async stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    if (this.flushing) clearImmediate(this.flushing);
    await this.flush();
    await this.deps.transport.close();
  }

  /** Drops the LISTEN connection as a network fault would (tests). */
  dropConnection(): void {
    this.deps.transport.drop();
  }

  private schedule(): void {
    this.flushing ??= setImmediate(() => {
      this.flushing = undefined;
      void this.flush();
    });
  }

  /** One NOTIFY for what this tick published (more only when it does not fit one payload). */
  private async flush(): Promise<void> {
    const pairs = [...this.pending].map((pair) => ["c", pair] as const);
    const sent = [...this.sent].map((pair) => ["s", pair] as const);
    const appended = this.appended;
    this.pending = new Map();
    this.sent = new Map();
    this.appended = false;
    const messages: Message[] = [];
    let current: Message = { o: this.origin, ...(appended ? { a: 1 as const } : {}) };
    let size = 40;
    for (const [key, pair] of [...pairs, ...sent]) {
      if (size + 250 > this.deps.transport.maxPayloadBytes) {
        messages.push(current);
        current = { o: this.origin };
        size = 40;
      }
      current[key] = [...(current[key] ?? []), pair];
      size += pair[0].length + pair[1].length + 8;
    }
    if (current.c || current.s || current.a) messages.push(current);
    for (const message of messages) {
      await this.deps.transport
        .publish(JSON.stringify(message))
        .catch((err: unknown) =>
          this.deps.logger.debug({ err }, "publishing a signal failed; other processes fall back to re-reads"),
        );
    }
  }

  private receive(payload: string): void {
    let message: Message;
    try {
      message = JSON.parse(payload) as Message;
    } catch {
      return;
    }
    if (message.o === this.origin) return;
    this.received++;
    if (message.a) this.deps.events.signals.emit("appended", []);
    if (message.s) this.deps.bus.announceSent(message.s.map(([commandId, tenantId]) => ({ commandId, tenantId })));
    const watched = (message.c ?? []).filter(
      ([commandId, root]) => this.deps.bus.watches(commandId) || this.deps.bus.watches(root, true),
    );
    if (watched.length > 0) void this.reread(watched.map(([commandId]) => commandId));
  }

  private async reread(commandIds: readonly string[]): Promise<void> {
    try {
      const results = await Promise.all([...new Set(commandIds)].map((id) => this.deps.results.byCommand(id)));
      this.deps.bus.deliver(results.flat());
    } catch (err) {
      this.deps.logger.debug({ err }, "re-reading signalled results failed; waits fall back to re-reads");
    }
  }

  private async rereadWatched(): Promise<void> {
    const { commands, chains } = this.deps.bus.watched();
    try {
      const results = await Promise.all([
        ...commands.map((id) => this.deps.results.byCommand(id)),
        ...chains.map((id) => this.deps.results.byCorrelation(id)),
      ]);
      this.deps.bus.deliver(results.flat());
    } catch (err) {
      this.deps.logger.debug({ err }, "re-reading watched results failed; waits fall back to re-reads");
    }
  }
}
