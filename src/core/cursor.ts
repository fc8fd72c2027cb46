/**
 * The one cursor codec of the API's connections. A cursor is opaque to clients and bound to
 * what handed it out: the connection (its kind) and the tenant. A cursor of another tenant or
 * another connection, a forged or a malformed one, is refused with INVALID_CURSOR — the same
 * answer whatever is wrong with it, so a cursor cannot be used to probe another tenant's rows.
 *
 * Binding the tenant is the isolation rule; the other half is that connections page by keyset
 * (`key > cursor value` within the caller's tenant), never by looking the cursor's row up, so a
 * well-formed cursor of one's own tenant can say nothing about rows it cannot read anyway.
 * Pure (no I/O), so the gateway and GraphQL can both use it.
 */
import { InvalidCursor } from "./errors.ts";
import { MAX_INT4, MAX_INT8 } from "./text.ts";

export interface CursorCodec<V> {
  /** The connection the cursors belong to, e.g. `accounts`. */
  readonly kind: string;
  encode(tenantId: string, value: V): string;
  /** The value a cursor of `encode(tenantId, value)` holds, or InvalidCursor. */
  decode(tenantId: string, cursor: string): V;
}

/** Longer than any cursor handed out (IDs are at most a few hundred characters). */
const MAX_CURSOR_LENGTH = 2048;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Text PostgreSQL cannot hold: a NUL, or a lone UTF-16 surrogate. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const unstorable = (text: string): boolean => text.includes("\u0000") || LONE_SURROGATE.test(text);

export function cursorCodec<V>(
  kind: string,
  format: (value: V) => string,
  parse: (text: string) => V | undefined,
): CursorCodec<V> {
  const encode = (tenantId: string, value: V): string =>
    Buffer.from(JSON.stringify([kind, tenantId, format(value)]), "utf8").toString("base64url");
  return {
    kind,
    encode,
    decode(tenantId, cursor) {
      const refused = () =>
        new InvalidCursor(`Cursor ${JSON.stringify(String(cursor).slice(0, 80))} is not one this field handed out`);
      if (typeof cursor !== "string" || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw refused();
      let parts: unknown;
      try {
        parts = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
      } catch {
        throw refused();
      }
      if (!Array.isArray(parts) || parts.length !== 3) throw refused();
      const [cursorKind, cursorTenant, text] = parts as unknown[];
      if (cursorKind !== kind || cursorTenant !== tenantId || typeof text !== "string") throw refused();
      const value = unstorable(text) ? undefined : parse(text);
      // Only the exact text `encode` writes is accepted (no second spelling of one cursor).
      if (value === undefined || encode(tenantId, value) !== cursor) throw refused();
      return value;
    },
  };
}

/** Cursors holding a row's ID (connections ordered by ID). */
export const idCursor = (kind: string): CursorCodec<string> =>
  cursorCodec(
    kind,
    (id) => id,
    (text) => text,
  );

/** Cursors holding a log position (connections ordered by when their rows were created). */
export const positionCursor = (kind: string): CursorCodec<bigint> =>
  cursorCodec(
    kind,
    (position) => position.toString(),
    (text) => (/^(0|[1-9][0-9]{0,18})$/.test(text) && BigInt(text) <= MAX_INT8 ? BigInt(text) : undefined),
  );

/** Cursors holding an aggregate's version (versions are Int columns, like GraphQL's Int). */
export const streamVersionCursor = (kind: string): CursorCodec<number> =>
  cursorCodec(
    kind,
    (version) => String(version),
    (text) => (/^(0|[1-9][0-9]{0,9})$/.test(text) && Number(text) <= MAX_INT4 ? Number(text) : undefined),
  );
