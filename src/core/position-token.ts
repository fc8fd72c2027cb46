/**
 * Log positions as tenants see them: opaque tokens, bound to the tenant. The log is global, so
 * a raw position's growth between two of a tenant's commands shows how much every other tenant
 * wrote meanwhile (issue 13). A token is AES-256-GCM of the 8-byte position with the tenant ID as
 * additional authenticated data: another tenant's token, a forged or an altered one fails the
 * tag and is refused with INVALID_POSITION, the same answer whatever is wrong with it.
 *
 * The IV is synthetic (an HMAC of tenant and position under a second key), not random: the same
 * position reads as the same token for one tenant every time, so a saga command's request and
 * causation IDs, which carry a token, stay stable identifiers across reads. A repeated IV only
 * ever comes with the same plaintext and AAD (a different pair repeats one with probability
 * 2^-96), so it reveals equality of a tenant's own positions and nothing else; tokens do not
 * order. Pure (node:crypto only); the key comes from the store or POSITION_TOKEN_KEY.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { InvalidPosition } from "./errors.ts";
import { MAX_INT8 } from "./text.ts";

export interface PositionTokens {
  encode(tenantId: string, position: bigint): string;
  /** The position a token of `encode(tenantId, position)` holds, or InvalidPosition. */
  decode(tenantId: string, token: string): bigint;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const TOKEN_BYTES = IV_BYTES + 8 + TAG_BYTES;
/** base64url of TOKEN_BYTES (36) bytes, no padding. */
const TOKEN = /^[A-Za-z0-9_-]{48}$/;

const derive = (key: Uint8Array, purpose: string): Buffer =>
  Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), `stageline position token ${purpose}`, 32));

/** The codec under `key` (any secret of 32 bytes or more; two keys are derived from it). */
export function positionTokens(key: Uint8Array): PositionTokens {
  if (key.length < 32) throw new Error("A position token key needs at least 32 bytes");
  const cipherKey = derive(key, "cipher");
  const ivKey = derive(key, "iv");
  const ivOf = (tenantId: string, plain: Buffer): Buffer =>
    createHmac("sha256", ivKey).update(tenantId, "utf8").update("\u0000").update(plain).digest().subarray(0, IV_BYTES);

  return {
    encode(tenantId, position) {
      if (position < 0n || position > MAX_INT8) throw new RangeError(`No log position ${position}`);
      const plain = Buffer.alloc(8);
      plain.writeBigInt64BE(position);
      const iv = ivOf(tenantId, plain);
      const cipher = createCipheriv("aes-256-gcm", cipherKey, iv);
      cipher.setAAD(Buffer.from(tenantId, "utf8"));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
    },
    decode(tenantId, token) {
      const refused = () =>
        new InvalidPosition(`Position ${JSON.stringify(String(token).slice(0, 80))} is not one this tenant was given`);
      if (typeof token !== "string" || !TOKEN.test(token)) throw refused();
      const bytes = Buffer.from(token, "base64url");
      // Only the one spelling encode writes (the last character's spare bits are zero).
      if (bytes.length !== TOKEN_BYTES || bytes.toString("base64url") !== token) throw refused();
      const iv = bytes.subarray(0, IV_BYTES);
      let plain: Buffer;
      try {
        const decipher = createDecipheriv("aes-256-gcm", cipherKey, iv);
        decipher.setAAD(Buffer.from(tenantId, "utf8"));
        decipher.setAuthTag(bytes.subarray(IV_BYTES + 8));
        plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, IV_BYTES + 8)), decipher.final()]);
      } catch {
        throw refused();
      }
      const position = plain.readBigInt64BE();
      if (position < 0n || !timingSafeEqual(iv, ivOf(tenantId, plain))) throw refused();
      return position;
    },
  };
}
