/**
 * What DATABASE_URL selects. Pure parsing, so start-up can refuse a bad URL before touching
 * anything, and logs only ever see the masked form.
 */
import { CoreCode, StartupError } from "../core/errors.ts";

export type DatabaseTarget =
  | { engine: "pglite"; dataDir: string | "memory://" }
  | { engine: "postgres"; url: string; host: string; database: string };

export function parseDatabaseUrl(url: string | undefined, defaultDataDir: string): DatabaseTarget {
  if (url === undefined || url.trim() === "") return { engine: "pglite", dataDir: defaultDataDir };
  if (url === "memory://") return { engine: "pglite", dataDir: "memory://" };
  if (url.startsWith("pglite://")) {
    const dataDir = url.slice("pglite://".length);
    if (!dataDir)
      throw new StartupError(
        CoreCode.DATABASE_URL_INVALID,
        "DATABASE_URL pglite:// needs a folder, e.g. pglite://./.data/stageline",
      );
    return { engine: "pglite", dataDir };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StartupError(
      CoreCode.DATABASE_URL_INVALID,
      "DATABASE_URL is not a valid URL: use postgres://user:password@host:5432/database, pglite://<folder> or memory://",
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new StartupError(
      CoreCode.DATABASE_URL_INVALID,
      `DATABASE_URL scheme "${parsed.protocol}" is not supported: use postgres://, pglite:// or memory://`,
    );
  }
  return {
    engine: "postgres",
    url,
    host: `${parsed.hostname || "localhost"}:${parsed.port || "5432"}`,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "(default)",
  };
}

/** The URL with its password replaced, fit for logs and error messages. */
export function maskDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "****";
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:****@");
  }
}

export function describeTarget(target: DatabaseTarget): string {
  return target.engine === "pglite"
    ? `PGlite (${target.dataDir === "memory://" ? "in memory" : target.dataDir})`
    : `PostgreSQL at ${target.host}/${target.database}`;
}
