/**
 * Limits counted per credential (issue 13, exhaustion): waits running at once
 * (MAX_WAITS_PER_CREDENTIAL), requests per second (RATE_LIMIT_PER_SECOND, with
 * rate-limiter-flexible's in-memory limiter: per process), and the longest wait a caller may ask
 * for (WAIT_MAX_TIMEOUT_MS). Each refusal has a stable code. They apply when authentication is on;
 * an open server (loopback only) has one caller, whom they would only slow down.
 */
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { RateLimited, TimeoutTooLong, TooManyWaits } from "./errors.ts";

/** Counts waits in progress per credential; `acquire` throws TOO_MANY_WAITS at the limit. */
export class WaitSlots {
  private readonly inUse = new Map<string, number>();
  constructor(private readonly max: number) {}

  acquire(key: string): () => void {
    const used = this.inUse.get(key) ?? 0;
    if (used >= this.max) {
      throw new TooManyWaits(`At most ${this.max} waits may run at once for one credential; let some finish first`);
    }
    this.inUse.set(key, used + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inUse.get(key) ?? 1) - 1;
      if (left > 0) this.inUse.set(key, left);
      else this.inUse.delete(key);
    };
  }
}

/** Requests per second per credential; `consume` throws RATE_LIMITED past it. */
export class RequestRate {
  private readonly limiter: RateLimiterMemory;
  constructor(perSecond: number) {
    this.limiter = new RateLimiterMemory({ points: perSecond, duration: 1 });
  }

  async consume(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) throw new RateLimited(refusal.msBeforeNext);
      throw refusal;
    }
  }
}

export function checkTimeout(timeoutMs: number | undefined, max: number): void {
  if (timeoutMs !== undefined && timeoutMs > max) {
    throw new TimeoutTooLong(`waitFor.timeoutMs may be at most ${max} here (WAIT_MAX_TIMEOUT_MS)`);
  }
}
