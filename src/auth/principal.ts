/**
 * Who is calling, as every transport sees it once the credential is verified: the subject, the
 * tenants and roles the credential grants, and when it stops being valid. Also the two answers
 * a refused caller gets, UNAUTHENTICATED and FORBIDDEN, and the tenant choice rule (a header may
 * only pick among the granted tenants).
 */
import { Forbidden } from "./errors.ts";

export interface Principal {
  subject: string;
  /** Tenants the credential grants; the first is used when the caller names none. */
  tenants: readonly string[];
  roles: readonly string[];
  /** When the credential stops being valid (a JWT's exp); undefined: it does not expire. */
  expiresAt: Date | undefined;
  via: "jwt" | "apikey";
}

/** One key per credential, for limits counted per credential (sockets, waits, rate). */
export const credentialKey = (principal: Principal): string => `${principal.via}:${principal.subject}`;

export const isExpired = (principal: Principal, now = Date.now()): boolean =>
  principal.expiresAt !== undefined && principal.expiresAt.getTime() <= now;

/**
 * The tenant a call acts in. Without authentication (principal undefined) the requested one
 * (undefined: the server's default), as before; with it, only one the credential grants.
 */
export function chooseTenant(principal: Principal | undefined, requested: string | undefined): string | undefined {
  if (!principal) return requested;
  if (requested === undefined) {
    const first = principal.tenants[0];
    if (first === undefined) throw new Forbidden("The credential grants no tenant");
    return first;
  }
  if (!principal.tenants.includes(requested)) {
    throw new Forbidden(`The credential does not grant tenant ${JSON.stringify(requested.slice(0, 100))}`);
  }
  return requested;
}

/** Admin operations need the admin role when authentication is on (principal defined). */
export function requireRole(principal: Principal | undefined, role: string): void {
  if (principal && !principal.roles.includes(role)) {
    throw new Forbidden(`This operation needs the ${role} role`);
  }
}
