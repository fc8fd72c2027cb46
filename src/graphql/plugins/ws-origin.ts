/**
 * The Origin check on WebSocket upgrades. Browsers let any page open a WebSocket to any host
 * (no CORS), carrying the user's cookies; the Origin header is the only thing that says which
 * page asked. Allowed: no Origin (not a browser), the server's own origin, and CORS_ORIGINS.
 * Anything else is refused with 403 before the upgrade (no socket is ever opened).
 */
import type { IncomingMessage } from "node:http";

export function isAllowedOrigin(origin: string | undefined, host: string | undefined, allowed: ReadonlySet<string>) {
  if (!origin) return true;
  if (allowed.has(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** For `ws`'s verifyClient (the callback form, to answer 403 rather than its default 401). */
export function webSocketOriginCheck(allowList: readonly string[]) {
  const allowed = new Set(allowList);
  return (
    info: { origin: string; req: IncomingMessage },
    answer: (ok: boolean, status?: number, reason?: string) => void,
  ) =>
    isAllowedOrigin(info.origin, info.req.headers.host, allowed)
      ? answer(true)
      : answer(false, 403, "Origin not allowed");
}
