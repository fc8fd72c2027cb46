/**
 * The position token codec (src/core/position-token.ts): a round trip for the tenant it was
 * made for, and INVALID_POSITION for another tenant's token, any altered byte, another spelling
 * of the same bytes, or another key's token.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { positionTokens } from "../../src/core/position-token.ts";
import { causationIdShown, requestIdShown } from "../../src/core/request-ids.ts";

const codec = positionTokens(randomBytes(32));
const codeOf = (work: () => unknown): string | undefined => {
  try {
    work();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe("position tokens", () => {
  it("decode to the position for the tenant they were made for, and only for it", () => {
    for (const position of [0n, 1n, 12_345n, 2n ** 63n - 1n]) {
      const token = codec.encode("acme", position);
      expect(token).toMatch(/^[A-Za-z0-9_-]{48}$/);
      expect(codec.decode("acme", token)).toBe(position);
      expect(codeOf(() => codec.decode("globex", token))).toBe("INVALID_POSITION");
    }
  });

  it("are stable per tenant and position, and differ across tenants", () => {
    expect(codec.encode("acme", 7n)).toBe(codec.encode("acme", 7n));
    expect(codec.encode("acme", 7n)).not.toBe(codec.encode("globex", 7n));
    expect(codec.encode("acme", 7n)).not.toBe(codec.encode("acme", 8n));
  });

  it("refuse every altered byte, another spelling, another key's token and junk", () => {
    const token = codec.encode("acme", 42n);
    const bytes = Buffer.from(token, "base64url");
    for (let i = 0; i < bytes.length; i++) {
      const altered = Buffer.from(bytes);
      altered[i]! ^= 1;
      expect(codeOf(() => codec.decode("acme", altered.toString("base64url")))).toBe("INVALID_POSITION");
    }
    expect(codeOf(() => codec.decode("acme", `${token}==`))).toBe("INVALID_POSITION");
    expect(codeOf(() => codec.decode("acme", positionTokens(randomBytes(32)).encode("acme", 42n)))).toBe(
      "INVALID_POSITION",
    );
    for (const junk of ["", "42", "abc", "x".repeat(48), "é".repeat(48), "\u0000".repeat(48)]) {
      expect(codeOf(() => codec.decode("acme", junk))).toBe("INVALID_POSITION");
    }
  });

  it("need a key of at least 32 bytes", () => {
    expect(() => positionTokens(randomBytes(16))).toThrow(/32 bytes/);
  });

  it("replace the position inside a saga's request and causation IDs, nothing else", () => {
    const show = (p: bigint) => `<${p}>`;
    expect(requestIdShown("internal:saga:banking.Transfer:17:credit", show)).toBe(
      "internal:saga:banking.Transfer:<17>:credit",
    );
    expect(requestIdShown("internal:saga:banking.Transfer:17:a:b", show)).toBe(
      "internal:saga:banking.Transfer:<17>:a:b",
    );
    expect(causationIdShown("event:9", show)).toBe("event:<9>");
    // A client's own key is shown as sent, even one that looks like a causation ID.
    for (const id of ["client-key-17", "event:9", "internal:other:5:k"]) expect(requestIdShown(id, show)).toBe(id);
    for (const id of ["event:x", "0190a0c0-0000-7000-8000-000000000000", "internal:saga:s:1:k"]) {
      expect(causationIdShown(id, show)).toBe(id);
    }
  });
});
