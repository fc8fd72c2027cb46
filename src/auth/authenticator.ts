/**
 * Turns the credential a transport received (`Authorization: Bearer …` on HTTP and SSE,
 * `connectionParams.authorization` on graphql-ws) into a Principal, by the configured methods:
 * a JWT, or an API key (`slk_…`) looked up by ID and compared by hash. No GraphQL here; the
 * transports map UNAUTHENTICATED and FORBIDDEN to their own answers.
 */
import type { Logger } from "../logger.ts";
import type { ApiKeyStore } from "../store/api-key-store.ts";
import { API_KEY_PREFIX, parseApiKey, secretMatches } from "./api-keys.ts";
import type { SecurityConfig } from "./config.ts";
import { Unauthenticated } from "./errors.ts";
import { createJwtVerifier, InvalidToken, type JwtVerifier } from "./jwt.ts";
import type { Principal } from "./principal.ts";

export interface Authenticator {
  /** False: no authentication configured; every call is anonymous (loopback only). */
  readonly enabled: boolean;
  /** The caller of an `Authorization` header value; undefined when authentication is off. */
  authenticate(authorization: string | undefined): Promise<Principal | undefined>;
}

export function createAuthenticator(
  config: SecurityConfig,
  deps: { apiKeys: ApiKeyStore; logger: Logger },
): Authenticator {
  const jwt: JwtVerifier | undefined = config.methods.includes("jwt")
    ? createJwtVerifier(config.jwt, config)
    : undefined;
  const apiKeysOn = config.methods.includes("apikey");
  return {
    enabled: config.methods.length > 0,
    async authenticate(authorization) {
      if (config.methods.length === 0) return undefined;
      const match = /^(?:Bearer|ApiKey)\s+(\S+)$/i.exec(authorization?.trim() ?? "");
      if (!match) throw new Unauthenticated("A credential is needed: Authorization: Bearer <token or API key>");
      const credential = match[1]!;
      if (credential.startsWith(API_KEY_PREFIX)) {
        if (!apiKeysOn) throw new Unauthenticated("API keys are not accepted here (AUTH_MODE)");
        return verifyApiKey(credential, deps.apiKeys);
      }
      if (!jwt) throw new Unauthenticated("Tokens are not accepted here (AUTH_MODE)");
      try {
        return await jwt(credential);
      } catch (error) {
        if (error instanceof InvalidToken) {
          deps.logger.info({ reasons: error.reasons.map((r) => (r as Error).message ?? String(r)) }, "token refused");
        }
        throw error;
      }
    },
  };
}

async function verifyApiKey(key: string, store: ApiKeyStore): Promise<Principal> {
  const parsed = parseApiKey(key);
  const record = parsed ? await store.find(parsed.id) : undefined;
  if (!parsed || !record || record.revokedAt || !secretMatches(parsed.secret, record.secretHash)) {
    throw new Unauthenticated("The API key is not valid (unknown, revoked or mistyped)");
  }
  return {
    subject: `apikey:${record.id}`,
    tenants: record.tenants,
    roles: record.roles,
    expiresAt: undefined,
    via: "apikey",
  };
}
