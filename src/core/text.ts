/**
 * What PostgreSQL can store, as plain rules on values, so every entry point can refuse the rest
 * before anything is written. Without them a NUL byte or a lone surrogate reaches the database
 * and fails there (an internal error, with SQL in development), or worse is silently stored as
 * U+FFFD; a position or time out of the column's range fails the same way.
 */

/** The largest value of a PostgreSQL `integer` (aggregate versions). */
export const MAX_INT4 = 2_147_483_647;

/** The range of a PostgreSQL `bigint` (log positions). */
export const MIN_INT8 = -(2n ** 63n);
export const MAX_INT8 = 2n ** 63n - 1n;

/** Timestamps accepted from clients: four-digit years, as ISO-8601 writes them without a sign. */
export const MIN_TIME = Date.UTC(1, 0, 1);
export const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why `text` cannot be stored as PostgreSQL text or jsonb, or undefined when it can. NUL is
 * refused by both; a lone surrogate is not Unicode (UTF-8 cannot encode it: jsonb refuses it,
 * text would silently hold U+FFFD instead).
 */
export function unstorableText(text: string): string | undefined {
  if (text.includes("\u0000")) return "must not contain the NUL character (U+0000)";
  if (LONE_SURROGATE.test(text)) return "must be valid Unicode (it holds an unpaired surrogate)";
  return undefined;
}

/** Why `value` does not fit a bigint column, or undefined when it does. */
export const outOfInt8Range = (value: bigint): string | undefined =>
  value < MIN_INT8 || value > MAX_INT8 ? `must be between ${MIN_INT8} and ${MAX_INT8}` : undefined;

/** Why `date` is not a storable timestamp, or undefined when it is. */
export function outOfTimeRange(date: Date): string | undefined {
  const time = date.getTime();
  if (Number.isNaN(time)) return "must be a valid time";
  if (time < MIN_TIME || time > MAX_TIME) return "must be between 0001-01-01 and 9999-12-31 (UTC)";
  return undefined;
}
