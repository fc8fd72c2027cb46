/**
 * Admission control for the command path: at most `maxInFlight` commands doing storage work at
 * once, at most `maxQueued` waiting behind them (first in, first out), none waiting longer than
 * `maxQueueWaitMs`. A command that finds the queue full, or waits past the limit, is refused at
 * once with OVERLOADED (nothing stored, a retry hint) instead of joining the database pool's own
 * queue, whose waits end in connection timeouts (UNAVAILABLE) for everyone at once.
 *
 * It counts commands, not connections: a command admitted holds its place until its storage
 * work is over (its processing included), while group commit still gathers the admitted ones
 * into shared transactions. A small counting semaphore with a bounded, timed FIFO queue: the
 * libraries that come to mind (p-limit, p-queue) bound concurrency but not the queue, and time
 * out running tasks rather than waiting ones.
 */
import { Overloaded } from "../core/errors.ts";

export interface AdmissionOptions {
  /** Commands doing storage work at once. */
  maxInFlight: number;
  /** Commands waiting for a place; past it a command is refused at once. */
  maxQueued: number;
  /** The longest a command waits for a place before it is refused. */
  maxQueueWaitMs: number;
}

export type ShedReason = "queue_full" | "queue_wait";

/** What the admission stage holds now, and what it refused since it started (for metrics). */
export interface AdmissionUse {
  inFlight: number;
  queued: number;
  maxInFlight: number;
  maxQueued: number;
  shed: Record<ShedReason, number>;
}

/** Gives the place back; calling it again does nothing. */
export type Release = () => void;

interface Waiter {
  admit: (release: Release) => void;
  timer: NodeJS.Timeout;
}

/**
 * The default bound: ten commands per pool connection, and never fewer than one group commit
 * holds. A command holds a connection only for short moments (its acceptance, its share of a
 * group commit), so a few per connection keep the pool busy, while the pool's own queue stays
 * short enough that no wait for a connection reaches its timeout; fewer than a group would keep
 * the groups from filling (PGlite's one connection would otherwise admit only ten).
 */
export const defaultMaxInFlight = (poolSize: number, groupSize: number): number => Math.max(10 * poolSize, groupSize);

/** The retry hint's bounds: never "retry now", never longer than a queue wait. */
const MIN_RETRY_MS = 50;
/** Weight of the newest hold in the average hold time (the retry hint's estimate). */
const HOLD_WEIGHT = 0.1;

export class Admission {
  private inFlight = 0;
  private readonly queue = new Set<Waiter>();
  private readonly shed: Record<ShedReason, number> = { queue_full: 0, queue_wait: 0 };
  /** Average time a place is held (ms): with the queue's length, how long a retry should wait. */
  private averageHoldMs = 0;

  constructor(
    readonly options: AdmissionOptions,
    private readonly onShed: (reason: ShedReason, use: AdmissionUse) => void = () => {},
  ) {
    for (const [name, value] of Object.entries(options)) {
      if (!Number.isInteger(value) || value < (name === "maxQueued" ? 0 : 1)) {
        throw new RangeError(`Admission ${name} must be a positive integer, got ${value}`);
      }
    }
  }

  /** Resolves with the place's release once admitted; rejects with Overloaded when refused. */
  enter(): Promise<Release> {
    if (this.inFlight < this.options.maxInFlight && this.queue.size === 0) return Promise.resolve(this.take());
    if (this.queue.size >= this.options.maxQueued) return Promise.reject(this.refuse("queue_full"));
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        admit: resolve,
        timer: setTimeout(() => {
          this.queue.delete(waiter);
          reject(this.refuse("queue_wait"));
        }, this.options.maxQueueWaitMs),
      };
      this.queue.add(waiter);
    });
  }

  use(): AdmissionUse {
    return {
      inFlight: this.inFlight,
      queued: this.queue.size,
      maxInFlight: this.options.maxInFlight,
      maxQueued: this.options.maxQueued,
      shed: { ...this.shed },
    };
  }

  private take(): Release {
    this.inFlight++;
    const since = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.averageHoldMs += (performance.now() - since - this.averageHoldMs) * HOLD_WEIGHT;
      this.inFlight--;
      this.next();
    };
  }

  /** Hands a freed place to the oldest waiter (a Set iterates in insertion order). */
  private next(): void {
    for (const waiter of this.queue) {
      if (this.inFlight >= this.options.maxInFlight) return;
      this.queue.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.admit(this.take());
    }
  }

  private refuse(reason: ShedReason): Overloaded {
    this.shed[reason]++;
    this.onShed(reason, this.use());
    return new Overloaded(this.retryAfterMs(), reason);
  }

  /** About the time the commands now queued need to get through, bounded by a queue wait. */
  private retryAfterMs(): number {
    const { maxInFlight, maxQueueWaitMs } = this.options;
    const drain = (this.averageHoldMs * (this.queue.size + 1)) / maxInFlight;
    return Math.round(Math.min(maxQueueWaitMs, Math.max(MIN_RETRY_MS, drain)));
  }
}
