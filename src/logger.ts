import { pino } from "pino";

/** Structured logs, one JSON line per event worth knowing. `LOG_LEVEL=silent` mutes them. */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info"),
  base: { service: "stageline" },
  redact: ["databaseUrl", "*.password", "password", "headers.authorization"],
});

export type Logger = typeof logger;
