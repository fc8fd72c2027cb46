/**
 * Yoga's own log lines go to the app's pino logger, structured, at their level.
 */
import type { YogaLogger } from "graphql-yoga";
import type { Logger } from "../../logger.ts";

export function yogaLogging(logger: Logger): YogaLogger {
  return {
    debug: (...args) => logger.debug({ args }, "yoga"),
    info: (...args) => logger.info({ args }, "yoga"),
    warn: (...args) => logger.warn({ args }, "yoga"),
    error: (...args) => logger.error({ args }, "yoga"),
  };
}
