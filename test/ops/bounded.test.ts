/**
 * The two guards that keep probes prompt while the database hangs: a timeout on each probe, and
 * one read in flight shared by concurrent probes (so a hung server does not collect a pool's
 * worth of stuck queries).
 */
import { describe, expect, it } from "vitest";
import { singleFlight, withTimeout } from "../../src/ops/bounded.ts";
import { ProbeTimeout } from "../../src/ops/errors.ts";

describe("probe guards", () => {
  it("rejects with PROBE_TIMEOUT when the work does not settle in time, and passes results through", async () => {
    const never = new Promise<never>(() => {});
    const error = await withTimeout(never, 20, "readiness check").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProbeTimeout);
    expect((error as ProbeTimeout).code).toBe("PROBE_TIMEOUT");
    await expect(withTimeout(Promise.resolve(7), 1_000, "x")).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error("down")), 1_000, "x")).rejects.toThrow("down");
  });

  it("shares one run among concurrent callers, and starts a new one after it settled", async () => {
    let runs = 0;
    let release!: () => void;
    const probe = singleFlight(async () => {
      runs++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return runs;
    });
    const first = probe();
    const second = probe();
    expect(runs).toBe(1);
    release();
    expect(await Promise.all([first, second])).toEqual([1, 1]);
    const third = probe();
    release();
    expect(await third).toBe(2);
  });
});
