/**
 * Where an unauthenticated server may listen: loopback only, unless the operator says
 * explicitly (AUTH_ALLOW_OPEN=true) that something else (a proxy, a private network) guards it.
 * An open server logs one line saying so, so it is never open by accident and unnoticed.
 */
import { CoreCode, StartupError } from "../core/errors.ts";
import type { Logger } from "../logger.ts";
import type { SecurityConfig } from "./config.ts";

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|\[::1\]|localhost)$/i;

export const isLoopback = (host: string): boolean => LOOPBACK.test(host);

/** Throws when an unauthenticated server would listen beyond loopback without AUTH_ALLOW_OPEN. */
export function checkExposure(security: SecurityConfig, host: string, logger: Logger): void {
  if (security.methods.length > 0) return;
  if (!isLoopback(host) && !security.allowOpen) {
    throw new StartupError(
      CoreCode.AUTH_REQUIRED,
      `HOST=${host} is reachable from other machines but AUTH_MODE=none: set AUTH_MODE (jwt, apikey) or, if something else guards it, AUTH_ALLOW_OPEN=true`,
    );
  }
  logger.warn({ host }, "authentication is off (AUTH_MODE=none): anyone who reaches this address can do anything");
}
