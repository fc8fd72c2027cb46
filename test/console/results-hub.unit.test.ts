/**
 * The page's one results stream (results-hub.js): a stream that fails (the server's database
 * went away) is subscribed again after a short delay, and its listeners are told to re-read what
 * they missed; without that the page would never follow results again.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

interface Handlers {
  next: (data: unknown) => void;
  error: (e: Error) => void;
  complete: () => void;
}
const subscriptions: Handlers[] = [];
const stops: ReturnType<typeof vi.fn>[] = [];

vi.mock("../../src/console/web/api.js", () => ({
  subscribe: (_query: string, _variables: unknown, handlers: Handlers) => {
    subscriptions.push(handlers);
    const stop = vi.fn();
    stops.push(stop);
    return stop;
  },
}));
vi.mock("../../src/console/web/stages.js", () => ({ RESULT_FIELDS: "id" }));

describe("the page's results stream", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    subscriptions.length = 0;
    stops.length = 0;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("subscribes again after a failure, and asks its listeners to re-read", async () => {
    // The page's scripts are plain JavaScript, without declarations: typed here for what is used.
    const hub = "../../src/console/web/results-hub.js";
    const { onRecentResult, RETRY_MS } = (await import(hub)) as {
      RETRY_MS: number;
      onRecentResult: (next: (r: unknown) => void, error?: (e: Error) => void, resync?: () => void) => () => void;
    };
    const results: unknown[] = [];
    const errors: Error[] = [];
    const resync = vi.fn();
    const off = onRecentResult(
      (r: unknown) => results.push(r),
      (e: Error) => errors.push(e),
      resync,
    );
    try {
      expect(subscriptions).toHaveLength(1);
      subscriptions[0]!.error(new Error("the database went away"));
      expect(errors).toHaveLength(1);
      expect(resync).not.toHaveBeenCalled();
      vi.advanceTimersByTime(RETRY_MS);
      expect(subscriptions).toHaveLength(2);
      expect(resync).toHaveBeenCalledTimes(1);
      subscriptions[1]!.next({ recentCommandResults: { id: "r-1" } });
      expect(results).toEqual([{ id: "r-1" }]);
      // A listener arriving meanwhile shares the new stream.
      const second = onRecentResult(() => {});
      expect(subscriptions).toHaveLength(2);
      second();
    } finally {
      off();
    }
    expect(stops[1]).toHaveBeenCalledTimes(1);
    // Stopped for good: a failure before the last listener left schedules nothing after.
    vi.advanceTimersByTime(RETRY_MS * 2);
    expect(subscriptions).toHaveLength(2);
  });
});
