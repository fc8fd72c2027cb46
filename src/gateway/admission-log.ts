/**
 * One log line per burst of OVERLOADED answers, not one per command: under overload a line per
 * refusal would itself be load. A burst ends after `quietMs` without a refusal and is then told
 * in one line (how many, why, over how long, the queue at its fullest); a burst that goes on is
 * told every `everyMs`, so a long overload still shows while it lasts.
 */
import type { Logger } from "../logger.ts";
import type { AdmissionUse, ShedReason } from "./admission.ts";

export interface ShedLogOptions {
  /** A burst is over after this long without a refusal (default 1 s). */
  quietMs?: number;
  /** A burst still going is reported this often (default 10 s). */
  everyMs?: number;
}

interface Burst {
  startedAt: number;
  lastAt: number;
  shed: Record<ShedReason, number>;
  maxQueued: number;
  timer: NodeJS.Timeout;
}

/** Returns the admission stage's `onShed` hook. */
export function shedLog(logger: Logger, options: ShedLogOptions = {}): (reason: ShedReason, use: AdmissionUse) => void {
  const quietMs = options.quietMs ?? 1_000;
  const everyMs = options.everyMs ?? 10_000;
  let burst: Burst | undefined;

  const report = (current: Burst, over: boolean) => {
    const now = Date.now();
    logger.warn(
      {
        overloaded: current.shed.queue_full + current.shed.queue_wait,
        queueFull: current.shed.queue_full,
        queueWait: current.shed.queue_wait,
        durationMs: now - current.startedAt,
        maxQueued: current.maxQueued,
      },
      over ? "commands answered OVERLOADED (burst over)" : "commands answered OVERLOADED (burst going on)",
    );
  };

  const check = () => {
    const current = burst;
    if (!current) return;
    const now = Date.now();
    if (now - current.lastAt >= quietMs) {
      burst = undefined;
      report(current, true);
    } else if (now - current.startedAt >= everyMs) {
      report(current, false);
      burst = { ...current, startedAt: now, shed: { queue_full: 0, queue_wait: 0 }, timer: schedule() };
    } else current.timer = schedule();
  };
  const schedule = () => {
    const timer = setTimeout(check, quietMs);
    timer.unref();
    return timer;
  };

  return (reason, use) => {
    const now = Date.now();
    burst ??= { startedAt: now, lastAt: now, shed: { queue_full: 0, queue_wait: 0 }, maxQueued: 0, timer: schedule() };
    burst.lastAt = now;
    burst.shed[reason]++;
    burst.maxQueued = Math.max(burst.maxQueued, use.queued);
  };
}
