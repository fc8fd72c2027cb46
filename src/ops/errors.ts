/**
 * The operations layer's error catalogue: what the CLI (`npm run stageline`) and the ops
 * endpoints refuse, with stable codes an operator's scripts can branch on. Listed, with the
 * engine's, in docs/bad-input.md.
 */
import { codes, StagelineError, withCode } from "../core/errors.ts";

export const OpsCode = codes(
  "USAGE",
  "PROBE_TIMEOUT",
  "DATABASE_NOT_MIGRATED",
  "DEAD_LETTER_NOT_FOUND",
  "DEAD_LETTER_RETRY_FAILED",
  "FAILED_COMMAND_NOT_FOUND",
  "UNKNOWN_PROCESSOR",
  "API_KEY_NOT_FOUND",
  "POSITION_NOT_FOUND",
  "REPLAY_FORWARD",
  "REPLAY_PROJECTION",
  "CONFIRMATION_REQUIRED",
  "IMPORT_INVALID",
  "IMPORT_TARGET_NOT_EMPTY",
);
export type OpsCode = keyof typeof OpsCode;

/** The command line does not parse (unknown command, missing or malformed argument). */
export class UsageError extends withCode(OpsCode.USAGE) {}

/** A health probe took longer than it may. */
export class ProbeTimeout extends withCode(OpsCode.PROBE_TIMEOUT) {}

/** The database has not been migrated: run `npm run db:migrate` first. */
export class NotMigrated extends withCode(OpsCode.DATABASE_NOT_MIGRATED) {}

/** No dead letter of that processor at that position. */
export class DeadLetterNotFound extends withCode(OpsCode.DEAD_LETTER_NOT_FOUND) {}

/** Retrying a dead letter failed again; it stays dead. */
export class RetryFailed extends withCode(OpsCode.DEAD_LETTER_RETRY_FAILED) {}

/** No command set aside (FAILED) with that ID: never failed that often, re-queued already, or unknown. */
export class FailedCommandNotFound extends withCode(OpsCode.FAILED_COMMAND_NOT_FOUND) {}

/** No processor of that name. */
export class UnknownProcessor extends withCode(OpsCode.UNKNOWN_PROCESSOR) {}

/** No active API key with that ID. */
export class NoSuchApiKey extends StagelineError<"API_KEY_NOT_FOUND"> {
  constructor(id: string) {
    super(OpsCode.API_KEY_NOT_FOUND, `No active API key ${id}`);
  }
}

/** A replay the CLI will not do (or not without `--yes`). */
export class ReplayRefused extends StagelineError<
  "POSITION_NOT_FOUND" | "REPLAY_FORWARD" | "REPLAY_PROJECTION" | "CONFIRMATION_REQUIRED"
> {}

/** An import file that is not a log export. */
export class ImportInvalid extends withCode(OpsCode.IMPORT_INVALID) {}

/** An import into a tenant that already has events. */
export class ImportTargetNotEmpty extends withCode(OpsCode.IMPORT_TARGET_NOT_EMPTY) {}
