/**
 * Publishes command results in-process, by command and by chain (correlationId). Results are
 * always stored before they are published, so a subscriber that missed one finds it in the store.
 *
 * Dispatch is a map lookup per result (its command's listeners and its chain's), whatever the
 * number of subscribers. Listeners must return at once: a wait only queues the result for its
 * reader (wait.ts), so a subscriber that reads slowly delays nobody else.
 */
import { CoreCode } from "../core/errors.ts";
import type { CommandResult } from "../core/stages.ts";

export type ResultListener = (result: CommandResult) => void;

/** A command was accepted (its SENT result stored), here or in another process. */
export type SentListener = (sent: { commandId: string; tenantId: string }) => void;

export class ResultBus {
  /**
   * Every result published or delivered here for the commands whose SENT this process published
   * last (bounded, oldest first out): a subscriber arriving after its command was accepted here
   * (a client subscribing once its mutation answered) starts from these instead of a store read
   * — a thousand subscribers were a thousand reads queued behind the commands' own work.
   */
  private readonly history = new Map<string, CommandResult[]>();
  private readonly byCommand = new Map<string, Set<ResultListener>>();
  private readonly byChain = new Map<string, Set<ResultListener>>();
  private readonly interrupts = new Map<string, Set<(error: Error) => void>>();
  private readonly any = new Set<ResultListener>();
  private readonly sent = new Set<SentListener>();
  private readonly resyncs = new Set<() => void>();

  constructor(private readonly historySize = DEFAULT_HISTORY) {}

  publish(results: readonly CommandResult[]): void {
    for (const result of results) {
      this.remember(result, true);
      // The sent signal first: a listener that starts following the command on it (the console's
      // results feed) gets this SENT too. A failing sent listener keeps it from no wait.
      let failure: { error: unknown } | undefined;
      if (result.stage === "SENT" && result.scope === "STAGE") {
        try {
          emit(this.sent, { commandId: result.commandId, tenantId: result.tenantId });
        } catch (error) {
          failure = { error };
        }
      }
      emit(this.byCommand.get(result.commandId), result);
      emit(this.byChain.get(result.correlationId), result);
      emit(this.any, result);
      if (failure) throw failure.error;
    }
  }

  /** Commands another process accepted (announced by its NOTIFY): to `onSent` listeners. */
  announceSent(sent: readonly { commandId: string; tenantId: string }[]): void {
    for (const one of sent) emit(this.sent, one);
  }

  /** Every command accepted, here or (with cross-process signals) in another process: the console's live feed. */
  onSent(listener: SentListener): () => void {
    this.sent.add(listener);
    return () => this.sent.delete(listener);
  }

  /**
   * The signal connection was lost and is back: what other processes announced meanwhile is
   * gone, so listeners that follow announcements (not only waits) re-read the store.
   */
  resync(): void {
    emit(this.resyncs, undefined);
  }

  onResync(listener: () => void): () => void {
    this.resyncs.add(listener);
    return () => this.resyncs.delete(listener);
  }

  /**
   * Results another process stored (re-read from the store on its NOTIFY): to this process's
   * waits only, not to `onAny` listeners, which follow what this process itself produced.
   */
  deliver(results: readonly CommandResult[]): void {
    for (const result of results) {
      this.remember(result, false);
      emit(this.byCommand.get(result.commandId), result);
      emit(this.byChain.get(result.correlationId), result);
    }
  }

  /**
   * The results of a command accepted here lately, in the order they were published (a copy);
   * undefined when this process has not kept its history (then the store has it).
   */
  recent(commandId: string): CommandResult[] | undefined {
    return this.history.get(commandId)?.slice();
  }

  /** `own`: published here; a history starts only at a SENT this process published (it accepted the command). */
  private remember(result: CommandResult, own: boolean): void {
    // A command set aside after failing too often may be retried by an operator, which replaces
    // this answer in the store: from here on late subscribers read the store, never this copy.
    if (result.errorCode === CoreCode.COMMAND_FAILED) {
      this.history.delete(result.commandId);
      return;
    }
    const kept = this.history.get(result.commandId);
    if (kept) kept.push(result);
    else if (own && result.stage === "SENT" && result.scope === "STAGE" && this.historySize > 0) {
      this.history.set(result.commandId, [result]);
      if (this.history.size > this.historySize) this.history.delete(this.history.keys().next().value!);
    }
  }

  /** Whether a wait here listens to the command (or, with `chain`, to the chain it roots). */
  watches(commandId: string, chain = false): boolean {
    return (chain ? this.byChain : this.byCommand).has(commandId);
  }

  /** Every command and chain a wait here listens to (re-read after a lost signal connection). */
  watched(): { commands: string[]; chains: string[] } {
    return { commands: [...this.byCommand.keys()], chains: [...this.byChain.keys()] };
  }

  /** Listens to one command's results, or (`chain`) to every result of the chain it roots. */
  subscribe(commandId: string, listener: ResultListener, chain = false): () => void {
    return add(chain ? this.byChain : this.byCommand, commandId, listener);
  }

  /**
   * The command could not be processed for now (the database went away): its waiters end with
   * this error instead of waiting out their timeout. The command stays stored; a worker retries.
   */
  interrupt(commandId: string, error: Error): void {
    emit(this.interrupts.get(commandId), error);
  }

  onInterrupt(commandId: string, listener: (error: Error) => void): () => void {
    return add(this.interrupts, commandId, listener);
  }

  /** Every result published (runners' stage tracking, metrics). */
  onAny(listener: ResultListener): () => void {
    this.any.add(listener);
    return () => this.any.delete(listener);
  }

  get listenerCount(): number {
    let n = this.any.size + this.sent.size + this.resyncs.size;
    for (const map of [this.byCommand, this.byChain, this.interrupts]) for (const set of map.values()) n += set.size;
    return n;
  }
}

/** Commands whose results are kept for late subscribers (a few MB at most). */
const DEFAULT_HISTORY = 2_000;

/** Calls each listener; one that throws keeps the value from no other, and its error reaches the publisher. */
function emit<T>(listeners: Set<(value: T) => void> | undefined, value: T): void {
  if (!listeners) return;
  let failure: { error: unknown } | undefined;
  for (const listener of listeners) {
    try {
      listener(value);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}

/** Adds a listener under a key; the returned function removes it (and the key once empty). */
function add<T>(map: Map<string, Set<T>>, key: string, listener: T): () => void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(listener);
  return () => {
    const current = map.get(key);
    if (!current) return;
    current.delete(listener);
    if (current.size === 0) map.delete(key);
  };
}
