/**
 * The auth layer's error catalogue: who may call, and how much. Codes, like the engine's
 * (src/core/errors.ts), are part of the API and listed in docs/bad-input.md.
 */
import { codes, StagelineError, withCode } from "../core/errors.ts";

export const AuthCode = codes("UNAUTHENTICATED", "FORBIDDEN", "TOO_MANY_WAITS", "RATE_LIMITED", "TIMEOUT_TOO_LONG");
export type AuthCode = keyof typeof AuthCode;

/** No credential, or one that is not valid (bad signature, expired, wrong audience, revoked key). */
export class Unauthenticated extends withCode(AuthCode.UNAUTHENTICATED) {}

/** A valid credential that does not grant this (another tenant, a missing role). */
export class Forbidden extends withCode(AuthCode.FORBIDDEN) {}

/** The credential already has as many waits in progress as it may. */
export class TooManyWaits extends withCode(AuthCode.TOO_MANY_WAITS) {}

/** The credential sent more requests than its rate allows; `retryAfterMs` says when to retry. */
export class RateLimited extends StagelineError<"RATE_LIMITED"> {
  constructor(readonly retryAfterMs: number) {
    super(AuthCode.RATE_LIMITED, `Too many requests for this credential; retry in ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

/** A wait asked for longer than the server allows. */
export class TimeoutTooLong extends withCode(AuthCode.TIMEOUT_TOO_LONG) {}
