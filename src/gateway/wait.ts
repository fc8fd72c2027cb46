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
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const stop = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  // Listen before reading the store: a result published in between is seen twice, not never.
  const incoming = on(live, "result", { signal: stop });
  try {
    const stored = chain ? await deps.results.byWaitCommand(commandId) : await deps.results.byCommand(commandId);
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
    if (timeout.aborted && !options.signal?.aborted) yield timeoutResult(commandId, options, progress.last);
  } finally {
    unsubscribe();
  }
}

function timeoutResult(commandId: string, options: WaitOptions, last: CommandResult | undefined): CommandResult {
  const target = `${options.target.chain ? "chain " : ""}${options.target.stage}${
    options.target.processor?.processorName ? ` of ${options.target.processor.processorName}` : ""
  }`;
  return {
    id: `timeout:${commandId}:${Date.now()}`,
    commandId,
    waitCommandId: last?.waitCommandId ?? commandId,
    stage: options.target.stage === "ALL" ? (last?.stage ?? "SENT") : options.target.stage,
    scope: "STAGE",
    tenantId: last?.tenantId ?? "",
    contextName: last?.contextName ?? "",
    aggregateName: last?.aggregateName ?? "",
    aggregateId: last?.aggregateId ?? "",
    aggregateVersion: last?.aggregateVersion ?? null,
    requestId: last?.requestId ?? "",
    function: { functionKind: "GATEWAY", contextName: "", processorName: "CommandGateway", name: "wait" },
    errorCode: WAIT_TIMEOUT,
    errorMsg: `Waited ${options.timeoutMs} ms for ${target}; the last stage reached was ${last?.stage ?? "none"}. The command may still complete.`,
    bindingErrors: [],
    result: {},
    signalTime: new Date(),
    succeeded: false,
    positions: last?.positions ?? [],
  };
}
