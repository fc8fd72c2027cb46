/**
 * Typed errors with stable codes. A code is part of the API: clients branch on it, so a code,
 * once shipped, keeps its meaning.
 */
export abstract class StagelineError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The stream moved on since the caller read it: load again and decide again. */
export class VersionConflict extends StagelineError {
  readonly code = "VERSION_CONFLICT";
  constructor(
    readonly stream: string,
    readonly expectedVersion: number,
    readonly actualVersion?: number,
  ) {
    super(
      actualVersion === undefined
        ? `Stream ${stream} is no longer at version ${expectedVersion}`
        : `Stream ${stream} is at version ${actualVersion}, expected ${expectedVersion}`,
    );
  }
}

/** A business rule refused the command. The code is the domain's own (e.g. INSUFFICIENT_BALANCE). */
export class DomainError extends StagelineError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface BindingError {
  /** Dotted path of the offending field in the command input, e.g. `amount` or `items.0.sku`. */
  field: string;
  code: string;
  message: string;
}

/** The command's input does not satisfy its schema. Nothing was stored. */
export class ValidationFailed extends StagelineError {
  readonly code = "VALIDATION_FAILED";
  constructor(readonly bindingErrors: BindingError[]) {
    super(`Invalid command input: ${bindingErrors.map((e) => `${e.field || "(input)"}: ${e.message}`).join("; ")}`);
  }
}

/** Start-up cannot go on (bad configuration, unreachable database, tampered migrations). */
export class StartupError extends StagelineError {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** No command of that name on that aggregate. */
export class UnknownCommand extends StagelineError {
  readonly code = "UNKNOWN_COMMAND";
}

/** The request ID was used before, in this tenant, for a different command or payload. */
export class IdempotencyKeyReused extends StagelineError {
  readonly code = "IDEMPOTENCY_KEY_REUSED";
  constructor(
    readonly requestId: string,
    readonly originalCommandId: string,
  ) {
    super(
      `Request ID ${requestId} was already used for another command or payload (command ${originalCommandId}); use a new request ID`,
    );
  }
}

/** The aggregate a command names (or its rewriter looked for) does not exist. */
export class AggregateNotFound extends StagelineError {
  readonly code = "AGGREGATE_NOT_FOUND";
}

/** No command with that ID is known (never sent, or past its retention window). */
export class CommandNotFound extends StagelineError {
  readonly code = "COMMAND_NOT_FOUND";
  constructor(readonly commandId: string) {
    super(`No command ${commandId} is known (never sent, or its results are past the retention window)`);
  }
}

/** The database cannot be reached right now; the request may be retried. */
export class Unavailable extends StagelineError {
  readonly code = "UNAVAILABLE";
}
