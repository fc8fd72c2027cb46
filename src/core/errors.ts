/**
 * The engine's error catalogue: every code the core, the gateway, the runners and the store can
 * raise, and their typed errors. A code is part of the API: clients branch on it, so a code,
 * once shipped, keeps its meaning. Each layer above keeps its own catalogue the same way
 * (src/auth/errors.ts, src/ops/errors.ts, src/graphql/errors.ts); docs/bad-input.md lists them
 * all, and test/core/error-catalogue.unit.test.ts keeps the two in step.
 *
 * One way to attach a code: the base class takes it, typed by the catalogue; `withCode(code)`
 * is the base of an error with one fixed code and a message.
 */

/** A catalogue of codes: each name maps to itself, so `Code.X` has the literal type "X". */
export const codes = <const N extends readonly string[]>(...names: N): { readonly [K in N[number]]: K } =>
  Object.freeze(Object.fromEntries(names.map((name) => [name, name]))) as { readonly [K in N[number]]: K };

export const CoreCode = codes(
  // Commands
  "VALIDATION_FAILED",
  "UNKNOWN_COMMAND",
  "IDEMPOTENCY_KEY_REUSED",
  "AGGREGATE_NOT_FOUND",
  "AGGREGATE_ALREADY_EXISTS",
  "VERSION_CONFLICT",
  "DECIDE_FAILED",
  "COMMAND_NOT_FOUND",
  "COMMAND_FAILED",
  "EVENT_INVALID",
  // Waits and reads
  "WAIT_TIMEOUT",
  "CHAIN_FAILED",
  "READ_TIMEOUT",
  "READ_AFTER_FAILED_COMMAND",
  "INVALID_CURSOR",
  "INVALID_POSITION",
  "INVALID_TENANT",
  "UNAVAILABLE",
  "OVERLOADED",
  // History
  "UNKNOWN_AGGREGATE",
  "INVALID_PAGE",
  "AMBIGUOUS_POINT_IN_TIME",
  "VERSION_OUT_OF_RANGE",
  // Runners and projections
  "PROCESSOR_FAILED",
  "PROCESSOR_HELD",
  "LEASE_LOST",
  "READ_ONLY",
  "UNKNOWN_PROJECTION",
  "PROJECTION_NOT_REBUILDABLE",
  "PROJECTION_TABLE_MISSING",
  "REBUILD_IN_PROGRESS",
  "REBUILD_FAILED",
  // Start-up
  "CONFIG_INVALID",
  "AUTH_REQUIRED",
  "DATABASE_URL_INVALID",
  "DATABASE_UNAVAILABLE",
  "MIGRATION_FAILED",
  "MIGRATION_FAILED_EARLIER",
  "MIGRATION_CHECKSUM_MISMATCH",
);
export type CoreCode = keyof typeof CoreCode;

/** A typed error with a stable code. `C` is the layer's catalogue (or one code of it). */
export abstract class StagelineError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The base of an error with one fixed code: `class UnknownCommand extends withCode(CoreCode.UNKNOWN_COMMAND) {}`. */
export const withCode = <C extends string>(code: C) =>
  class extends StagelineError<C> {
    constructor(message: string) {
      super(code, message);
    }
  };

/** The stream moved on since the caller read it: load again and decide again. */
export class VersionConflict extends StagelineError<"VERSION_CONFLICT"> {
  constructor(
    readonly stream: string,
    readonly expectedVersion: number,
    readonly actualVersion?: number,
  ) {
    super(
      CoreCode.VERSION_CONFLICT,
      actualVersion === undefined
        ? `Stream ${stream} is no longer at version ${expectedVersion}`
        : `Stream ${stream} is at version ${actualVersion}, expected ${expectedVersion}`,
    );
  }
}

/** A business rule refused the command. The code is the domain's own (e.g. INSUFFICIENT_BALANCE). */
export class DomainError extends StagelineError {}

export interface BindingError {
  /** Dotted path of the offending field in the command input, e.g. `amount` or `items.0.sku`. */
  field: string;
  code: string;
  message: string;
}

/** The command's input does not satisfy its schema. Nothing was stored. */
export class ValidationFailed extends StagelineError<"VALIDATION_FAILED"> {
  constructor(readonly bindingErrors: BindingError[]) {
    super(
      CoreCode.VALIDATION_FAILED,
      `Invalid command input: ${bindingErrors.map((e) => `${e.field || "(input)"}: ${e.message}`).join("; ")}`,
    );
  }
}

type StartupCode =
  | "CONFIG_INVALID"
  | "AUTH_REQUIRED"
  | "DATABASE_URL_INVALID"
  | "DATABASE_UNAVAILABLE"
  | "MIGRATION_FAILED"
  | "MIGRATION_FAILED_EARLIER"
  | "MIGRATION_CHECKSUM_MISMATCH";

/** Start-up cannot go on (bad configuration, unreachable database, tampered migrations). */
export class StartupError extends StagelineError<StartupCode> {}

/** No command of that name on that aggregate. */
export class UnknownCommand extends withCode(CoreCode.UNKNOWN_COMMAND) {}

/** The request ID was used before, in this tenant, for a different command or payload. */
export class IdempotencyKeyReused extends StagelineError<"IDEMPOTENCY_KEY_REUSED"> {
  constructor(
    readonly requestId: string,
    readonly originalCommandId: string,
  ) {
    super(
      CoreCode.IDEMPOTENCY_KEY_REUSED,
      `Request ID ${requestId} was already used for another command or payload (command ${originalCommandId}); use a new request ID`,
    );
  }
}

/** The aggregate a command names (or its rewriter looked for) does not exist. */
export class AggregateNotFound extends withCode(CoreCode.AGGREGATE_NOT_FOUND) {}

/** No command with that ID is known (never sent, or past its retention window). */
export class CommandNotFound extends StagelineError<"COMMAND_NOT_FOUND"> {
  constructor(readonly commandId: string) {
    super(
      CoreCode.COMMAND_NOT_FOUND,
      `No command ${commandId} is known (never sent, or its results are past the retention window)`,
    );
  }
}

/** The database cannot be reached right now; the request may be retried. */
export class Unavailable extends withCode(CoreCode.UNAVAILABLE) {}

/**
 * The gateway has more commands waiting for the database than it admits (its queue is full, or
 * the command waited there past the limit): nothing was stored, and the same request may be sent
 * again after about `retryAfterMs` (with the same requestId, it cannot be applied twice).
 */
export class Overloaded extends StagelineError<"OVERLOADED"> {
  constructor(
    readonly retryAfterMs: number,
    readonly reason: "queue_full" | "queue_wait",
  ) {
    super(
      CoreCode.OVERLOADED,
      `Too many commands at once (${reason === "queue_full" ? "the admission queue is full" : "waited too long for admission"}); nothing was stored: retry in about ${retryAfterMs} ms`,
    );
  }
}

/** An event's data does not match its declared schema. */
export class InvalidEvent extends withCode(CoreCode.EVENT_INVALID) {}

/** A cursor this API did not hand out (forged, truncated, another tenant's or another connection's). */
export class InvalidCursor extends withCode(CoreCode.INVALID_CURSOR) {}
/** A position token this tenant was not handed: forged, malformed, or another tenant's. */
export class InvalidPosition extends withCode(CoreCode.INVALID_POSITION) {}

/** A tenant ID that is not 1-100 letters, digits, '.', '_' or '-'. */
export class InvalidTenant extends withCode(CoreCode.INVALID_TENANT) {}

/** The read model did not catch up with the command in time (or the command failed). */
export class ReadNotReady extends StagelineError<"READ_TIMEOUT" | "READ_AFTER_FAILED_COMMAND"> {
  constructor(commandId: string, reason: string) {
    const timedOut = reason === CoreCode.WAIT_TIMEOUT;
    super(
      timedOut ? CoreCode.READ_TIMEOUT : CoreCode.READ_AFTER_FAILED_COMMAND,
      timedOut
        ? `The read models have not caught up with command ${commandId} yet; retry shortly`
        : `Command ${commandId} did not reach PROJECTED (${reason})`,
    );
  }
}

/** History asked of an aggregate type no context defines. */
export class UnknownAggregate extends withCode(CoreCode.UNKNOWN_AGGREGATE) {}

/** Paging arguments out of range, or both directions at once. */
export class InvalidPage extends withCode(CoreCode.INVALID_PAGE) {}

/** Time travel takes a version or a time, not both. */
export class AmbiguousPointInTime extends withCode(CoreCode.AMBIGUOUS_POINT_IN_TIME) {}

/** The version asked for is below 1 or above the aggregate's current version. */
export class VersionOutOfRange extends withCode(CoreCode.VERSION_OUT_OF_RANGE) {}

/** This process no longer holds the processor's lease (another took it): it must stop writing. */
export class LeaseLost extends StagelineError<"LEASE_LOST"> {
  constructor(
    readonly processorId: string,
    readonly epoch: bigint,
  ) {
    super(CoreCode.LEASE_LOST, `The lease of ${processorId} (epoch ${epoch}) is no longer held by this process`);
  }
}

/** A saga's read-only view of the read models was asked to write. */
export class ReadOnlyViolation extends withCode(CoreCode.READ_ONLY) {}

/** No projection of that name. */
export class UnknownProjection extends withCode(CoreCode.UNKNOWN_PROJECTION) {}

/** The projection does not declare the tables it owns, so it cannot be rebuilt aside. */
export class ProjectionNotRebuildable extends withCode(CoreCode.PROJECTION_NOT_REBUILDABLE) {}

/** A projection names a table the database does not have. */
export class UnknownTable extends withCode(CoreCode.PROJECTION_TABLE_MISSING) {}

/** A rebuild of that projection is already running. */
export class RebuildInProgress extends withCode(CoreCode.REBUILD_IN_PROGRESS) {}

/** The rebuild stopped; the live tables were left as they were. */
export class RebuildFailed extends withCode(CoreCode.REBUILD_FAILED) {}
