/**
 * Latency samples and closed-loop load: `loops` virtual clients each send one request, wait for
 * its answer, and send the next. Only requests that end inside the measured window count.
 */

export interface LoadResult {
  /** Requests that succeeded and ended inside the window. */
  completed: number;
  /** Requests that failed (errors or unexpected results) inside the window. */
  errors: number;
  firstError?: string;
  windowMs: number;
  /** Milliseconds, one per completed request. */
  latencies: number[];
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) return { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

export interface LoadPlan {
  loops: number;
  /** Epoch ms at which every process starts (so processes' windows line up). */
  startAt: number;
  warmupMs: number;
  durationMs: number;
}

/** Runs `request(loop, n)` in `loops` closed loops; warm-up requests are not counted. */
export async function closedLoop(
  plan: LoadPlan,
  request: (loop: number, n: number) => Promise<void>,
): Promise<LoadResult> {
  const wait = plan.startAt - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const t0 = performance.now();
  const from = t0 + plan.warmupMs;
  const to = from + plan.durationMs;
  const result: LoadResult = { completed: 0, errors: 0, windowMs: plan.durationMs, latencies: [] };
  const loop = async (index: number) => {
    for (let n = 0; performance.now() < to; n++) {
      const started = performance.now();
      let failed: unknown;
      try {
        await request(index, n);
      } catch (error) {
        failed = error;
      }
      const ended = performance.now();
      if (ended < from || ended > to) continue;
      if (failed === undefined) {
        result.completed++;
        result.latencies.push(ended - started);
      } else {
        result.errors++;
        result.firstError ??= failed instanceof Error ? failed.message : String(failed);
      }
    }
  };
  await Promise.all(Array.from({ length: plan.loops }, (_, i) => loop(i)));
  return result;
}

/** Combines the results of several processes that ran the same window. */
export function merge(results: readonly LoadResult[]): LoadResult {
  const merged: LoadResult = { completed: 0, errors: 0, windowMs: 0, latencies: [] };
  for (const r of results) {
    merged.completed += r.completed;
    merged.errors += r.errors;
    merged.firstError ??= r.firstError;
    merged.windowMs = Math.max(merged.windowMs, r.windowMs);
    for (const l of r.latencies) merged.latencies.push(l);
  }
  return merged;
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
export async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
