/**
 * Structured logs, one JSON line per event worth knowing. Every line written during a piece of
 * work carries who it is for — the HTTP request ID, the command ID, the tenant — without each
 * call site passing them: the work runs inside a log context (AsyncLocalStorage) and a pino
 * mixin adds the context's fields to each line. `LOG_LEVEL` sets the level (`silent` mutes).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type DestinationStream, type Level, pino } from "pino";

/** What a line says about the work it was written for. */
export interface LogFields {
  /** The HTTP request (the client's `x-request-id`, or one generated for it). */
  reqId?: string;
  commandId?: string;
  tenantId?: string;
  /** The command's idempotency key. */
  requestId?: string;
}

const context = new AsyncLocalStorage<LogFields>();

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = Level | "silent";

export interface LoggerOptions {
  level?: string;
  /** Where lines go (default: stdout). */
  destination?: DestinationStream;
}

export function createLogger({ level, destination }: LoggerOptions = {}) {
  return pino(
    {
      level: level ?? process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info"),
      base: { service: "stageline" },
      redact: ["databaseUrl", "*.password", "password", "headers.authorization"],
      // The line's own fields win over the context's.
      mixin: () => context.getStore() ?? {},
    },
    destination,
  );
}

export const logger = createLogger();

export type Logger = ReturnType<typeof createLogger>;

/** Runs `work` with these fields (and the enclosing context's) on every line it logs. */
export function withLogContext<T>(fields: LogFields, work: () => T): T {
  const enclosing = context.getStore();
  return context.run(enclosing ? { ...enclosing, ...fields } : { ...fields }, work);
}

/** Adds fields to the current context (e.g. the tenant, once a request's credentials name it). */
export function addLogFields(fields: LogFields): void {
  const store = context.getStore();
  if (store) Object.assign(store, fields);
}

/** The fields lines written here would carry (tests, and work that leaves the context). */
export function currentLogFields(): LogFields {
  return { ...context.getStore() };
}
