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
