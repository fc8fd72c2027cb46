import { describe, expect, it } from "vitest";
import { StartupError } from "../../src/core/errors.ts";
import { openDatabase } from "../../src/store/database.ts";
import { maskDatabaseUrl, parseDatabaseUrl } from "../../src/store/database-url.ts";
import { freePort } from "../support/embedded-postgres.ts";

describe("DATABASE_URL", () => {
  it("selects PGlite in a folder by default, in memory for memory://, PostgreSQL for postgres://", () => {
    expect(parseDatabaseUrl(undefined, ".data/x")).toEqual({ engine: "pglite", dataDir: ".data/x" });
    expect(parseDatabaseUrl("memory://", ".data/x")).toEqual({ engine: "pglite", dataDir: "memory://" });
    expect(parseDatabaseUrl("pglite://./db", ".data/x")).toEqual({ engine: "pglite", dataDir: "./db" });
    expect(parseDatabaseUrl("postgresql://u:secret@db.example:6543/app", "")).toMatchObject({
      engine: "postgres",
      host: "db.example:6543",
      database: "app",
    });
  });

  it("refuses an unsupported scheme or garbage with a stable code", () => {
    for (const bad of ["mysql://u:p@h/db", "not a url"]) {
      const error = (() => {
        try {
          parseDatabaseUrl(bad, "");
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(StartupError);
      expect((error as StartupError).code).toBe("DATABASE_URL_INVALID");
    }
  });

  it("masks the password", () => {
    expect(maskDatabaseUrl("postgres://app:s3cr3t@h:5432/db")).toBe("postgres://app:****@h:5432/db");
    expect(maskDatabaseUrl("postgres://app:s3cr3t@h:5432/db")).not.toContain("s3cr3t");
  });

  it("an unreachable server stops start-up with one line naming the host, never the password", async () => {
    const port = await freePort();
    const url = `postgres://app:hunter2-secret@127.0.0.1:${port}/stageline`;
    const error = await openDatabase(parseDatabaseUrl(url, ""), { connectTimeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    const message = (error as StartupError).message;
    expect((error as StartupError).code).toBe("DATABASE_UNAVAILABLE");
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain("DATABASE_URL");
    expect(message).not.toContain("hunter2");
    expect(message.split("\n")).toHaveLength(1);
  });
});
