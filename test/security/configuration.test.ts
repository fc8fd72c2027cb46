/**
 * The security settings and the start-up rules: an unauthenticated server listens only on
 * loopback unless AUTH_ALLOW_OPEN=true (and says it is open); AUTH_MODE=jwt without a key source
 * does not start; introspection follows NODE_ENV unless set. And the CLI's API keys (stored
 * hashed, printed once, revoked) and local tokens, run in-process on both engines.
 *
 * Catches (verified by removing it): the host check in checkExposure (src/auth/exposure.ts) —
 * the 0.0.0.0 case starts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { createAuthenticator } from "../../src/auth/authenticator.ts";
import { loadSecurityConfig } from "../../src/auth/config.ts";
import { checkExposure } from "../../src/auth/exposure.ts";
import { type CliIo, runCli } from "../../src/cli.ts";
import { logger } from "../../src/logger.ts";
import { ApiKeyStore } from "../../src/store/api-key-store.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { createPostgresDatabase, engines } from "../support/databases.ts";
import { AUTH_ENV, SECRET } from "./support.ts";

describe("security configuration", () => {
  it("refuses an unauthenticated server beyond loopback unless AUTH_ALLOW_OPEN=true", () => {
    const open = loadSecurityConfig({}, false);
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    try {
      expect(() => checkExposure(open, "0.0.0.0", logger)).toThrow(/AUTH_ALLOW_OPEN/);
      expect(() => checkExposure(open, "10.1.2.3", logger)).toThrow(expect.objectContaining({ code: "AUTH_REQUIRED" }));
      for (const host of ["127.0.0.1", "::1", "localhost"]) checkExposure(open, host, logger);
      checkExposure(loadSecurityConfig({ AUTH_ALLOW_OPEN: "true" }, false), "0.0.0.0", logger);
      expect(warn).toHaveBeenCalledTimes(4);
      warn.mockClear();
      checkExposure(loadSecurityConfig(AUTH_ENV, false), "0.0.0.0", logger);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it("validates the settings at start-up", () => {
    expect(() => loadSecurityConfig({ AUTH_MODE: "jwt" }, false)).toThrow(/AUTH_JWT_SECRET/);
    expect(() => loadSecurityConfig({ AUTH_MODE: "magic" }, false)).toThrow(/AUTH_MODE/);
    expect(() => loadSecurityConfig({ AUTH_MODE: "jwt", AUTH_JWT_SECRET: "short" }, false)).toThrow(/32/);
    expect(() => loadSecurityConfig({ CORS_ORIGINS: "*" }, false)).toThrow(/CORS_ORIGINS/);
    expect(loadSecurityConfig({ AUTH_MODE: "jwt, apikey", AUTH_JWT_SECRET: SECRET }, false).methods).toEqual([
      "jwt",
      "apikey",
    ]);
    expect(loadSecurityConfig({}, true).introspection).toBe(false);
    expect(loadSecurityConfig({ GRAPHQL_INTROSPECTION: "true" }, true).introspection).toBe(true);
    expect(loadSecurityConfig({}, false).introspection).toBe(true);
  });
});

async function cli(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c) => {
    out += String(c);
  });
  stderr.on("data", (c) => {
    err += String(c);
  });
  const io: CliIo = { stdout, stderr, stdin: new PassThrough(), env };
  const code = await runCli(argv, io);
  return { code, out, err };
}

describe("the token command", () => {
  it("prints a token the server accepts, granting the tenants and roles asked", async () => {
    const { code, out } = await cli(["token", "--tenant", "acme,beta", "--roles", "teller"], AUTH_ENV);
    expect(code).toBe(0);
    const config = loadSecurityConfig(AUTH_ENV, false);
    const authenticator = createAuthenticator(config, { apiKeys: {} as ApiKeyStore, logger });
    const principal = await authenticator.authenticate(`Bearer ${out.trim()}`);
    expect(principal).toMatchObject({ tenants: ["acme", "beta"], roles: ["teller"], via: "jwt" });
    expect(principal!.expiresAt!.getTime()).toBeGreaterThan(Date.now());
  });

  it("refuses without a secret to sign with, or without a tenant", async () => {
    expect((await cli(["token", "--tenant", "acme"], {})).code).toBe(2);
    expect((await cli(["token"], AUTH_ENV)).code).toBe(2);
  });
});

describe.each(engines)("API keys from the CLI, on %s", (engine) => {
  it("creates (printed once, stored hashed), lists and revokes; a revoked key stops working", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "stageline-apikeys-"));
    const server = engine === "postgres" ? await createPostgresDatabase() : undefined;
    const env: Record<string, string> = {
      ...AUTH_ENV,
      ...(server ? { DATABASE_URL: server.url } : { STAGELINE_DATA_DIR: dataDir }),
    };
    /** Opens the database the CLI used (after it closed it: PGlite holds its folder alone). */
    const withDb = async <T>(work: (keys: ApiKeyStore, db: Database) => Promise<T>): Promise<T> => {
      const db = await openDatabase(parseDatabaseUrl(env.DATABASE_URL, dataDir), { poolSize: 2 });
      try {
        return await work(new ApiKeyStore(db.sql), db);
      } finally {
        await db.close();
      }
    };
    const authenticate = (keys: ApiKeyStore, key: string) =>
      createAuthenticator(loadSecurityConfig(AUTH_ENV, false), { apiKeys: keys, logger }).authenticate(`Bearer ${key}`);
    try {
      const created = await cli(["apikey", "create", "--tenant", "acme", "--roles", "teller", "--label", "ci"], env);
      expect(created.code).toBe(0);
      const key = created.out.split("\n")[0]!;
      const id = /# id ([0-9a-f]+)/.exec(created.out)![1]!;
      const secret = key.slice(`slk_${id}_`.length);
      const listed = await cli(["apikey", "list"], env);
      expect(listed.out).toContain(`${id}  active  tenants=acme  roles=teller`);
      expect(listed.out).not.toContain(secret);

      await withDb(async (keys, db) => {
        const stored = await db.sql.query<{ secret_hash: string }>("SELECT secret_hash FROM api_keys WHERE id = $1", [
          id,
        ]);
        expect(stored[0]!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
        expect(stored[0]!.secret_hash).not.toContain(secret);
        await expect(authenticate(keys, key)).resolves.toMatchObject({ tenants: ["acme"], roles: ["teller"] });
      });

      expect((await cli(["apikey", "revoke", id], env)).code).toBe(0);
      expect((await cli(["apikey", "revoke", id], env)).code).toBe(1);
      expect((await cli(["apikey", "list"], env)).out).toContain(`${id}  revoked`);
      await withDb(async (keys) => {
        await expect(authenticate(keys, key)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
      });
    } finally {
      await server?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
