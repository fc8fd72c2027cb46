/**
 * The config of one of several Stageline instances started inside a test (or the scale-out
 * bench): fast runners that dead-letter after three attempts, and the lease TTL and signals the
 * test is about. Child processes take theirs from the environment instead (children.ts).
 */
import { type Config, loadConfig } from "../../../src/config.ts";

export function instanceConfig(scaleOut: Config["scaleOut"]): Config {
  return {
    ...loadConfig({ NODE_ENV: "test" }),
    port: 0,
    runner: { batchSize: 100, pollMs: 50, maxAttempts: 3, onPoison: "dead-letter" },
    scaleOut,
  };
}
