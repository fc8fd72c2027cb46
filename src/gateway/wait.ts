/**
 * A wait as a stream: every result on the way to the target, first those already stored, then
 * live ones, ending at the target, at a failure, or at the timeout — reported as a result with
 * `errorCode: WAIT_TIMEOUT` and `succeeded: false`, never as success.
 */
import { EventEmitter, on } from "node:events";
import type { CommandResult, WaitTarget } from "../core/stages.ts";
import type { ResultStore } from "../store/result-store.ts";
import type { ResultBus } from "./result-bus.ts";
import { WaitProgress } from "./wait-progress.ts";

export interface WaitOptions {
  target: WaitTarget;
  timeoutMs: number;
  /** Aborting ends the stream quietly (the client went away). */
  signal?: AbortSignal;
  /**
   * First pause before re-reading the store for results no in-process bus carried (another
   * process stored them: a second gateway, or this one before a restart). Doubles up to 8×.
   */
  pollMs?: number;
}

export const WAIT_TIMEOUT = "WAIT_TIMEOUT";

export async function* waitForResults(
  deps: { bus: ResultBus; results: ResultStore },
  commandId: string,
  options: WaitOptions,
): AsyncGenerator<CommandResult> {
  const progress = new WaitProgress(commandId, options.target);
  const chain = options.target.chain === true;
  const live = new EventEmitter();
  const unsubscribe = deps.bus.subscribe(commandId, (r) => live.emit("result", r), chain);
  // An "error" event makes the iterator below throw it.
  const unsubscribeInterrupt = deps.bus.onInterrupt(commandId, (error) => live.emit("error", error));
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const stop = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  // Listen before reading the store: a result published in between is seen twice, not never.
  const incoming = on(live, "result", { signal: stop });
  const read = () => (chain ? deps.results.byWaitCommand(commandId) : deps.results.byCommand(commandId));
  const stopPolling = pollStore(read, (result) => live.emit("result", result), options.pollMs ?? 200, stop);
  try {
    const stored = await read();
    for (const result of stored) {
      yield* progress.accept(result);
      if (progress.done) return;
    }
    for await (const [result] of incoming) {
      yield* progress.accept(result as CommandResult);
      if (progress.done) return;
    }
  } catch (error) {
    if (!stop.aborted) throw error;
    if (timeout.aborted && !options.signal?.aborted) {
      yield timeoutResult(commandId, options, progress.lastOfRoot, progress.last);
    }
  } finally {
    stopPolling();
    unsubscribe();
    unsubscribeInterrupt();
  }
}

/**
 * The fallback path for results: the bus is fast but in-process only. Re-reads are cheap to
 * repeat (WaitProgress drops results it has seen) and rare: most waits end before the first.
 */
function pollStore(
  read: () => Promise<CommandResult[]>,
  emit: (result: CommandResult) => void,
  firstMs: number,
  stop: AbortSignal,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const schedule = (delay: number) => {
    timer = setTimeout(async () => {
      try {
        for (const result of await read()) emit(result);
      } catch {
        // The database is away: the next read tries again; the wait's timeout still bounds it.
      }
      if (!ended && !stop.aborted) schedule(Math.min(delay * 2, firstMs * 8));
    }, delay);
    timer.unref();
  };
  schedule(firstMs);
  return () => {
    ended = true;
    clearTimeout(timer);
  };
}

/**
 * About the command waited on (`own`: its latest result), even when the chain's latest result
 * (`last`) is another command's; the message says both.
 */
function timeoutResult(
  commandId: string,
  options: WaitOptions,
  own: CommandResult | undefined,
  last: CommandResult | undefined,
): CommandResult {
  const target = `${options.target.chain ? "chain " : ""}${options.target.stage}${
    options.target.processor?.processorName ? ` of ${options.target.processor.processorName}` : ""
  }`;
  return {
    id: `timeout:${commandId}:${Date.now()}`,
    commandId,
    waitCommandId: own?.waitCommandId ?? commandId,
    stage: options.target.stage === "ALL" ? (own?.stage ?? "SENT") : options.target.stage,
    scope: "STAGE",
    tenantId: own?.tenantId ?? "",
    contextName: own?.contextName ?? "",
    aggregateName: own?.aggregateName ?? "",
    aggregateId: own?.aggregateId ?? "",
    aggregateVersion: own?.aggregateVersion ?? null,
    requestId: own?.requestId ?? "",
    function: { functionKind: "GATEWAY", contextName: "", processorName: "CommandGateway", name: "wait" },
    errorCode: WAIT_TIMEOUT,
    errorMsg: `Waited ${options.timeoutMs} ms for ${target}; the last stage reached was ${own?.stage ?? "none"}${
      last && last !== own ? ` (the chain's latest: ${last.stage} of command ${last.commandId})` : ""
    }. The command may still complete.`,
    bindingErrors: [],
    result: {},
    signalTime: new Date(),
    succeeded: false,
    positions: own?.positions ?? [],
  };
}
