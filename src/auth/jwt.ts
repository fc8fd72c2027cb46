/**
 * JWT verification with jose: an HS256 secret, a PEM public key or a JWKS URL, with the
 * configured issuer, audience and clock skew. A token that fails any check is UNAUTHENTICATED;
 * the reason is logged by the caller, never returned (it helps an attacker more than a user).
 */
import { createRemoteJWKSet, importSPKI, type JWTPayload, type JWTVerifyGetKey, jwtVerify, SignJWT } from "jose";
import type { JwtSettings } from "./config.ts";
import { Unauthenticated } from "./errors.ts";
import type { Principal } from "./principal.ts";

export interface ClaimNames {
  tenantClaim: string;
  rolesClaim: string;
}

export type JwtVerifier = (token: string) => Promise<Principal>;

export function createJwtVerifier(settings: JwtSettings, claims: ClaimNames): JwtVerifier {
  const options = {
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: settings.clockSkewSeconds,
  };
  // Each key source fixes its algorithms, so a token cannot pick a weaker one (alg confusion).
  const secret = settings.secret ? new TextEncoder().encode(settings.secret) : undefined;
  const jwks: JWTVerifyGetKey | undefined = settings.jwksUrl
    ? createRemoteJWKSet(new URL(settings.jwksUrl))
    : undefined;
  const publicKey = settings.publicKey
    ? importSPKI(settings.publicKey, settings.algorithms[0] ?? "RS256").catch(() => undefined)
    : undefined;

  return async (token) => {
    let payload: JWTPayload | undefined;
    const failures: unknown[] = [];
    if (secret) {
      payload = await jwtVerify(token, secret, { ...options, algorithms: ["HS256"] }).then(
        (r) => r.payload,
        (e: unknown) => void failures.push(e),
      );
    }
    if (!payload && publicKey) {
      const key = await publicKey;
      if (key) {
        payload = await jwtVerify(token, key, { ...options, algorithms: settings.algorithms }).then(
          (r) => r.payload,
          (e: unknown) => void failures.push(e),
        );
      }
    }
    if (!payload && jwks) {
      payload = await jwtVerify(token, jwks, { ...options, algorithms: settings.algorithms }).then(
        (r) => r.payload,
        (e: unknown) => void failures.push(e),
      );
    }
    if (!payload) throw new InvalidToken(failures);
    return principalOf(payload, claims);
  };
}

/** The token is not valid; `reasons` (jose's errors) are for the log only. */
export class InvalidToken extends Unauthenticated {
  constructor(readonly reasons: unknown[]) {
    super("The token is not valid (signature, expiry, issuer or audience)");
  }
}

function principalOf(payload: JWTPayload, claims: ClaimNames): Principal {
  return {
    subject: typeof payload.sub === "string" ? payload.sub : "unknown",
    tenants: stringsOf(payload[claims.tenantClaim]),
    roles: stringsOf(payload[claims.rolesClaim]),
    expiresAt: typeof payload.exp === "number" ? new Date(payload.exp * 1000) : undefined,
    via: "jwt",
  };
}

/** A claim that is an array of strings, or one string (space-separated, as OAuth scopes are). */
const stringsOf = (claim: unknown): string[] =>
  Array.isArray(claim)
    ? claim.filter((v): v is string => typeof v === "string")
    : typeof claim === "string"
      ? claim.split(" ").filter(Boolean)
      : [];

/** Signs a local HS256 token (the `stageline token` command, tests). */
export async function signLocalToken(
  settings: Pick<JwtSettings, "secret" | "issuer" | "audience">,
  claims: ClaimNames,
  grant: { subject: string; tenants: string[]; roles: string[]; expiresInSeconds: number },
): Promise<string> {
  if (!settings.secret) throw new Unauthenticated("AUTH_JWT_SECRET is not set: there is no key to sign with");
  let jwt = new SignJWT({ [claims.tenantClaim]: grant.tenants, [claims.rolesClaim]: grant.roles })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(grant.subject)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + grant.expiresInSeconds);
  if (settings.issuer) jwt = jwt.setIssuer(settings.issuer);
  if (settings.audience) jwt = jwt.setAudience(settings.audience);
  return jwt.sign(new TextEncoder().encode(settings.secret));
}
