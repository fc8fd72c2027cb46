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
