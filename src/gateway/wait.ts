/**
 * A wait as a stream: every result on the way to the target, first those already stored, then
 * live ones, ending at the target, at a failure, or at the timeout — reported as a result with
 * `errorCode: WAIT_TIMEOUT` and `succeeded: false`, never as success.
 *
 * The wait listens from the moment it is created, not from its first read: a wait created
 * before its command is even accepted (`own`) sees every result this process publishes for it,
 * so it reads nothing from the store; only results another process stores (a worker or runner
 * elsewhere) need the store, and a slow poll finds those. A wait on a command this process
 * accepted lately starts from what the bus kept of it (ResultBus.recent); on any other command
 * it reads the store first (after listening, so a result published in between is seen twice,
 * not never).
 */

import { CoreCode } from "../core/errors.ts";
import { failed, gatewayFunction, newResult } from "../core/results.ts";
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
  /**
   * Created before the command was accepted, in the process that accepts it: nothing about it
   * can be stored yet, so no first store read, and the poll (for results of other processes
   * only) starts late.
   */
  own?: boolean;
}

/** How much later than `pollMs` an own wait first polls (its results normally come on the bus). */
const OWN_POLL_FACTOR = 5;

/** Listens at once; the stream it returns must be read or returned, else it keeps listening. */
export function waitForResults(
  deps: { bus: ResultBus; results: ResultStore },
  commandId: string,
  options: WaitOptions,
): AsyncGenerator<CommandResult> {
  const live = new LiveResults(deps.bus, commandId, options);
  const stream = follow(deps, commandId, options, live);
  // A stream returned before its first read never runs its `finally`: let go of the bus here.
  const end = stream.return.bind(stream);
  stream.return = (value) => {
    live.close();
    return end(value);
  };
  return stream;
}

async function* follow(
  deps: { bus: ResultBus; results: ResultStore },
  commandId: string,
  options: WaitOptions,
  live: LiveResults,
): AsyncGenerator<CommandResult> {
  const progress = new WaitProgress(commandId, options.target);
  const chain = options.target.chain === true;
  const read = () => (chain ? deps.results.byCorrelation(commandId) : deps.results.byCommand(commandId));
  const pollMs = options.pollMs ?? 200;
  // The timeout counts from the first read (once the sender has its answer), as it always has.
  live.timeout(options.timeoutMs);
  live.poll(read, options.own ? pollMs * OWN_POLL_FACTOR : pollMs, pollMs * 8);
  try {
    if (!options.own) {
      // A command accepted here lately: what this process published of it so far, without a
      // store read. Results another process stored that no NOTIFY brought here are found by the poll.
      const known = chain ? undefined : deps.bus.recent(commandId);
      for (const result of known ?? (await read())) {
        yield* progress.accept(result);
        if (progress.done) return;
      }
    }
    for (;;) {
      const result = await live.next();
      if (result === undefined) break;
      yield* progress.accept(result);
      if (progress.done) return;
    }
    if (live.ended === "timeout") yield timeoutResult(commandId, options, progress.lastOfRoot, progress.last);
  } finally {
    live.close();
  }
}

/**
 * One wait's live results: a queue the bus pushes into (never blocking the publisher, however
 * slowly the waiter reads), the timeout, the caller's abort and the store poll, all released by
 * `close` (at the end of the stream, or when it is returned unread).
 */
class LiveResults {
  ended: "timeout" | "aborted" | undefined;
  private readonly queue: CommandResult[] = [];
  private error: Error | undefined;
  private waiter: (() => void) | undefined;
  private readonly offs: (() => void)[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(bus: ResultBus, commandId: string, options: WaitOptions) {
    const chain = options.target.chain === true;
    this.offs.push(bus.subscribe(commandId, (r) => this.push(r), chain));
    this.offs.push(
      bus.onInterrupt(commandId, (error) => {
        this.error ??= error;
        this.kick();
      }),
    );
    const { signal } = options;
    if (signal) {
      const abort = () => this.end("aborted");
      if (signal.aborted) this.end("aborted");
      else {
        signal.addEventListener("abort", abort, { once: true });
        this.offs.push(() => signal.removeEventListener("abort", abort));
      }
    }
  }

  timeout(ms: number): void {
    if (this.closed || this.ended) return;
    const timer = setTimeout(() => this.end("timeout"), ms);
    timer.unref();
    this.offs.push(() => clearTimeout(timer));
  }

  push(result: CommandResult): void {
    if (this.closed) return;
    this.queue.push(result);
    this.kick();
  }

  /** The next result; undefined once the wait timed out or was aborted. Throws an interruption. */
  async next(): Promise<CommandResult | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      if (this.error) throw this.error;
      const result = this.queue.shift();
      if (result) return result;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  /**
   * The fallback path for results: the bus is fast but in-process only. Re-reads are cheap to
   * repeat (WaitProgress drops results it has seen) and rare: most waits end before the first.
   */
  poll(read: () => Promise<CommandResult[]>, firstMs: number, maxMs: number): void {
    const schedule = (delay: number) => {
      this.pollTimer = setTimeout(async () => {
        try {
          for (const result of await read()) this.push(result);
        } catch {
          // The database is away: the next read tries again; the wait's timeout still bounds it.
        }
        if (!this.closed && !this.ended) schedule(Math.min(delay * 2, maxMs));
      }, delay);
      this.pollTimer.unref();
    };
    schedule(firstMs);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pollTimer);
    for (const off of this.offs.splice(0)) off();
    this.queue.length = 0;
    this.kick();
  }

  /** Over (and let go of the bus, even if the stream is never read and so never closed). */
  private end(reason: "timeout" | "aborted"): void {
    this.ended ??= reason;
    clearTimeout(this.pollTimer);
    for (const off of this.offs.splice(0)) off();
    this.kick();
  }

  private kick(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
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
  const subject = own ?? {
    commandId,
    correlationId: commandId,
    tenantId: "",
    contextName: "",
    aggregateName: "",
    aggregateId: "",
    requestId: "",
  };
  const message = `Waited ${options.timeoutMs} ms for ${target}; the last stage reached was ${own?.stage ?? "none"}${
    last && last !== own ? ` (the chain's latest: ${last.stage} of command ${last.commandId})` : ""
  }. The command may still complete.`;
  return {
    id: `timeout:${commandId}:${Date.now()}`,
    signalTime: new Date(),
    ...newResult(subject, {
      stage: options.target.stage === "ALL" ? (own?.stage ?? "SENT") : options.target.stage,
      scope: "STAGE",
      function: gatewayFunction("wait"),
      outcome: failed(CoreCode.WAIT_TIMEOUT, message),
      aggregateVersion: own?.aggregateVersion ?? null,
      positions: own?.positions ?? [],
    }),
  };
}
