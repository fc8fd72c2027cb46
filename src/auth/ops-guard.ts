/**
 * Who may read /ready and /metrics when authentication is on: they show lag, volumes and
 * processor names, for operators only. Either the metrics token (OPS_METRICS_TOKEN, for a
 * Prometheus scraper that cannot get a JWT) or a credential with the admin role. /health stays
 * open (a liveness probe says nothing). Without authentication (loopback only) all are open.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Authenticator } from "./authenticator.ts";
import { Unauthenticated } from "./errors.ts";
import { isExpired } from "./principal.ts";

/** Resolves true when the `Authorization` header may read the operations endpoints. */
export type OpsGuard = (authorization: string | undefined) => Promise<boolean>;

export function opsGuard(
  authenticator: Authenticator,
  settings: { metricsToken: string | undefined; adminRole: string },
): OpsGuard | undefined {
  if (!authenticator.enabled) return undefined;
  const digest = (text: string) => createHash("sha256").update(text).digest();
  const token = settings.metricsToken ? digest(settings.metricsToken) : undefined;
  return async (authorization) => {
    const presented = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? "")?.[1];
    if (!presented) return false;
    if (token && timingSafeEqual(digest(presented), token)) return true;
    try {
      const principal = await authenticator.authenticate(authorization);
      return !!principal && !isExpired(principal) && principal.roles.includes(settings.adminRole);
    } catch (error) {
      if (error instanceof Unauthenticated) return false;
      throw error;
    }
  };
}
