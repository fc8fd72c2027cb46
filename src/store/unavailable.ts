/**
 * Tells a lost or refused database connection (worth waiting out and retrying) from every other
 * failure (a bug, a constraint, bad data). The drivers and Prisma report it in different shapes:
 * a socket error code, a PostgreSQL SQLSTATE, a Prisma code, or a message, often as a `cause`.
 */
const CONNECTION_CODES = new Set([
  // Sockets
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  // SQLSTATE: connection exceptions (08…) and the server going down (57P01–57P03)
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
  "57P01",
  "57P02",
  "57P03",
  // Prisma: cannot reach, timed out, connection closed
  "P1001",
  "P1002",
  "P1008",
  "P1017",
]);

const CONNECTION_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused|the database system is (starting up|shutting down)/i;

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== "object" || depth > 5) return false;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === "string" && CONNECTION_CODES.has(e.code)) return true;
  if (typeof e.message === "string" && CONNECTION_MESSAGES.test(e.message)) return true;
  // Node reports a refused connection to every address of a host as an AggregateError.
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return e.cause !== error && isDatabaseUnavailable(e.cause, depth + 1);
}
