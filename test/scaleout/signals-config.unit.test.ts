/** Choosing Redis for stage signals: it needs its URL, and says so at start-up with a stable code. */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";

describe("CROSS_PROCESS_SIGNALS=redis configuration", () => {
  it("refuses redis without REDIS_URL (CONFIG_INVALID)", () => {
    expect(() => loadConfig({ NODE_ENV: "test", CROSS_PROCESS_SIGNALS: "redis" })).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID", message: expect.stringContaining("REDIS_URL") }),
    );
  });

  it("refuses a REDIS_URL that is not a redis:// URL", () => {
    expect(() =>
      loadConfig({ NODE_ENV: "test", CROSS_PROCESS_SIGNALS: "redis", REDIS_URL: "http://127.0.0.1:6379" }),
    ).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
  });

  it("takes the URL and the channel", () => {
    const config = loadConfig({
      NODE_ENV: "test",
      CROSS_PROCESS_SIGNALS: "redis",
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_SIGNAL_CHANNEL: "stageline_eu",
    });
    expect(config.scaleOut).toMatchObject({
      signals: "redis",
      redisUrl: "redis://127.0.0.1:6379",
      redisChannel: "stageline_eu",
    });
  });
});
