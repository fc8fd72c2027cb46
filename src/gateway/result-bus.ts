/**
 * Publishes command results in-process, by command and by chain (waitCommandId). Results are
 * always stored before they are published, so a subscriber that missed one finds it in the store.
 */
import { EventEmitter } from "node:events";
import type { CommandResult } from "../core/stages.ts";

export type ResultListener = (result: CommandResult) => void;

export class ResultBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(results: readonly CommandResult[]): void {
    for (const result of results) {
      this.emitter.emit(`command:${result.commandId}`, result);
      this.emitter.emit(`chain:${result.waitCommandId}`, result);
      this.emitter.emit("any", result);
    }
  }

  /**
   * Results another process stored (re-read from the store on its NOTIFY): to this process's
   * waits only, not to `onAny` listeners, which follow what this process itself produced.
   */
  deliver(results: readonly CommandResult[]): void {
    for (const result of results) {
      this.emitter.emit(`command:${result.commandId}`, result);
      this.emitter.emit(`chain:${result.waitCommandId}`, result);
    }
  }

  /** Whether a wait here listens to the command (or, with `chain`, to the chain it roots). */
  watches(commandId: string, chain = false): boolean {
    return this.emitter.listenerCount(`${chain ? "chain" : "command"}:${commandId}`) > 0;
  }

  /** Every command and chain a wait here listens to (re-read after a lost signal connection). */
  watched(): { commands: string[]; chains: string[] } {
    const names = this.emitter.eventNames().map(String);
    const pick = (prefix: string) => names.filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
    return { commands: pick("command:"), chains: pick("chain:") };
  }

  /** Listens to one command's results, or (`chain`) to every result of the chain it roots. */
  subscribe(commandId: string, listener: ResultListener, chain = false): () => void {
    const key = `${chain ? "chain" : "command"}:${commandId}`;
    this.emitter.on(key, listener);
    return () => this.emitter.off(key, listener);
  }

  /**
   * The command could not be processed for now (the database went away): its waiters end with
   * this error instead of waiting out their timeout. The command stays stored; a worker retries.
   */
  interrupt(commandId: string, error: Error): void {
    this.emitter.emit(`interrupt:${commandId}`, error);
  }

  onInterrupt(commandId: string, listener: (error: Error) => void): () => void {
    this.emitter.on(`interrupt:${commandId}`, listener);
    return () => this.emitter.off(`interrupt:${commandId}`, listener);
  }

  /** Every result published (runners' stage tracking, metrics). */
  onAny(listener: ResultListener): () => void {
    this.emitter.on("any", listener);
    return () => this.emitter.off("any", listener);
  }

  get listenerCount(): number {
    return this.emitter.eventNames().reduce((n, name) => n + this.emitter.listenerCount(name), 0);
  }
}
