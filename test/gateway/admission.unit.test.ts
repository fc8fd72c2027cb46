/**
 * The admission stage alone (no database): places in first-in-first-out order, a full queue and
 * an expired queue wait refused with OVERLOADED and counted, a release that counts once; one log
 * line per burst of refusals; and its configuration, defaults and refusal of nonsense.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { Overloaded } from "../../src/core/errors.ts";
import { Admission, defaultMaxInFlight, type Release } from "../../src/gateway/admission.ts";
import { shedLog } from "../../src/gateway/admission-log.ts";
import type { Logger } from "../../src/logger.ts";

describe("admission", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("admits up to the limit at once, then queues first in, first out", async () => {
    const admission = new Admission({ maxInFlight: 2, maxQueued: 10, maxQueueWaitMs: 60_000 });
    const a = await admission.enter();
    const b = await admission.enter();
    const order: string[] = [];
    const admitted = (name: string) => (release: Release) => {
      order.push(name);
      return release;
    };
    const c = admission.enter().then(admitted("c"));
    const d = admission.enter().then(admitted("d"));
    expect(admission.use()).toMatchObject({ inFlight: 2, queued: 2 });
    a();
    a(); // a second call gives nothing back
    const releaseC = await c;
    expect(order).toEqual(["c"]);
    expect(admission.use()).toMatchObject({ inFlight: 2, queued: 1 });
    b();
    await d;
    expect(order).toEqual(["c", "d"]);
    releaseC();
    expect(admission.use()).toMatchObject({ inFlight: 1, queued: 0 });
  });

  it("refuses at once when the queue is full, with a retry hint; nothing of it is held", async () => {
    const shed = vi.fn();
    const admission = new Admission({ maxInFlight: 1, maxQueued: 1, maxQueueWaitMs: 5_000 }, shed);
    const first = await admission.enter();
    const queued = admission.enter();
    const refused = await admission.enter().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Overloaded);
    expect(refused).toMatchObject({ code: "OVERLOADED", reason: "queue_full" });
    expect((refused as Overloaded).retryAfterMs).toBeGreaterThan(0);
    expect((refused as Overloaded).retryAfterMs).toBeLessThanOrEqual(5_000);
    expect(shed).toHaveBeenCalledWith("queue_full", expect.objectContaining({ inFlight: 1, queued: 1 }));
    first();
    (await queued)();
    expect(admission.use()).toEqual({
      inFlight: 0,
      queued: 0,
      maxInFlight: 1,
      maxQueued: 1,
      shed: { queue_full: 1, queue_wait: 0 },
    });
  });

  it("refuses a command that waited past the queue limit, and its place goes to the next", async () => {
    vi.useFakeTimers();
    const admission = new Admission({ maxInFlight: 1, maxQueued: 5, maxQueueWaitMs: 1_000 });
    const first = await admission.enter();
    const late = admission.enter().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await late).toMatchObject({ code: "OVERLOADED", reason: "queue_wait" });
    const next = admission.enter();
    expect(admission.use()).toMatchObject({ queued: 1, shed: { queue_full: 0, queue_wait: 1 } });
    first();
    const release: Release = await next;
    release();
    expect(admission.use()).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it("with no queue, refuses every command past the limit", async () => {
    const admission = new Admission({ maxInFlight: 1, maxQueued: 0, maxQueueWaitMs: 1 });
    await admission.enter();
    await expect(admission.enter()).rejects.toMatchObject({ reason: "queue_full" });
  });

  it("refuses bounds that would refuse every command", () => {
    expect(() => new Admission({ maxInFlight: 0, maxQueued: 1, maxQueueWaitMs: 1 })).toThrow(/maxInFlight/);
    expect(() => new Admission({ maxInFlight: 1, maxQueued: -1, maxQueueWaitMs: 1 })).toThrow(/maxQueued/);
    expect(() => new Admission({ maxInFlight: 1, maxQueued: 1, maxQueueWaitMs: 0.5 })).toThrow(/maxQueueWaitMs/);
  });

  it("logs one line per burst of refusals, not one per command", async () => {
    vi.useFakeTimers();
    const warn = vi.fn();
    const onShed = shedLog({ warn } as unknown as Logger, { quietMs: 1_000, everyMs: 60_000 });
    const use = { inFlight: 1, queued: 3, maxInFlight: 1, maxQueued: 3, shed: { queue_full: 0, queue_wait: 0 } };
    for (let i = 0; i < 500; i++) onShed(i % 5 === 0 ? "queue_wait" : "queue_full", use);
    expect(warn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatchObject({ overloaded: 500, queueFull: 400, queueWait: 100, maxQueued: 3 });
    // A later burst is a line of its own.
    onShed("queue_full", use);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[1]![0]).toMatchObject({ overloaded: 1 });
  });

  it("a burst that goes on is reported as it goes", async () => {
    vi.useFakeTimers();
    const warn = vi.fn();
    const onShed = shedLog({ warn } as unknown as Logger, { quietMs: 1_000, everyMs: 5_000 });
    const use = { inFlight: 1, queued: 1, maxInFlight: 1, maxQueued: 1, shed: { queue_full: 0, queue_wait: 0 } };
    for (let second = 0; second < 12; second++) {
      onShed("queue_full", use);
      await vi.advanceTimersByTimeAsync(500);
      onShed("queue_full", use);
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(warn.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(warn.mock.calls[0]![1]).toMatch(/going on/);
  });
});

describe("admission configuration", () => {
  it("defaults: ten commands per pool connection but at least a group commit's, a queue of 1,000 waiting at most 5 s", () => {
    expect(loadConfig({}).admission).toEqual({ maxQueued: 1_000, maxQueueWaitMs: 5_000 });
    expect(defaultMaxInFlight(30, 100)).toBe(300);
    expect(defaultMaxInFlight(10, 100)).toBe(100);
    expect(defaultMaxInFlight(1, 100)).toBe(100);
  });

  it("reads each from the environment", () => {
    expect(
      loadConfig({
        COMMAND_ADMISSION_MAX_IN_FLIGHT: "4",
        COMMAND_ADMISSION_QUEUE: "0",
        COMMAND_ADMISSION_QUEUE_WAIT_MS: "250",
      }).admission,
    ).toEqual({ maxInFlight: 4, maxQueued: 0, maxQueueWaitMs: 250 });
  });

  it("refuses nonsense with CONFIG_INVALID", () => {
    expect(() => loadConfig({ COMMAND_ADMISSION_MAX_IN_FLIGHT: "0" })).toThrow(/COMMAND_ADMISSION_MAX_IN_FLIGHT/);
    expect(() => loadConfig({ COMMAND_ADMISSION_QUEUE: "-1" })).toThrow(/COMMAND_ADMISSION_QUEUE/);
    expect(() => loadConfig({ COMMAND_ADMISSION_QUEUE_WAIT_MS: "soon" })).toThrow(/COMMAND_ADMISSION_QUEUE_WAIT_MS/);
  });
});
