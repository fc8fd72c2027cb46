/**
 * API keys: `slk_<id>_<secret>`, where only a SHA-256 of the secret is stored. The secret is 32
 * random bytes, so a fast hash is enough (no password stretching needed: nothing to guess), and
 * the comparison is constant-time. The key is shown once, when created.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const API_KEY_PREFIX = "slk_";

export interface NewApiKey {
  id: string;
  /** The whole key, to give the client; never stored. */
  key: string;
  hash: string;
}

export function generateApiKey(): NewApiKey {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { id, key: `${API_KEY_PREFIX}${id}_${secret}`, hash: hashSecret(secret) };
}

export function parseApiKey(key: string): { id: string; secret: string } | undefined {
  const match = /^slk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(key);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

export const hashSecret = (secret: string): string => createHash("sha256").update(secret).digest("hex");

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
