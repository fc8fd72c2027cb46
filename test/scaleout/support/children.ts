/**
 * Stageline instances as child processes (support/instance.ts, forked with tsx) on one
 * PostgreSQL database, for the tests that stop, kill or add processes. Each child's log lines
 * are kept (`lines`) so that a test can look for what the child said about its leases.
 */
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { type Database, openDatabase } from "../../../src/store/database.ts";
import { parseDatabaseUrl } from "../../../src/store/database-url.ts";
import { createPostgresDatabase } from "../../support/databases.ts";
import { postToProcess } from "../../support/server-process.ts";

export interface Child {
  child: ChildProcess;
  url: string;
  pid: number;
  /** Log lines the child wrote (JSON, pino), when started with a log level. */
  lines: string[];
  alive(): boolean;
}

export interface ChildOptions {
  url: string;
  ttlMs: number;
  /** pino level; lines are collected from stdout. */
  logLevel?: string;
  env?: Record<string, string>;
  /** The entry point beside this file; support/instance.ts unless told. */
  script?: string;
}

export interface ProbeDatabase {
  url: string;
  db: Database;
  drop: () => Promise<void>;
}

/** A fresh migrated PostgreSQL database with the table support/instance.ts's recorder writes. */
export async function openProbeDatabase(): Promise<ProbeDatabase> {
  const { url, drop } = await createPostgresDatabase({ migrated: true });
  const db = await openDatabase(parseDatabaseUrl(url, ""), { poolSize: 4 });
  await db.sql.exec("CREATE TABLE handler_effects (position bigint NOT NULL, pid int NOT NULL)");
  return { url, db, drop };
}

export async function spawnChild(options: ChildOptions): Promise<Child> {
  const child = fork(resolve(import.meta.dirname, options.script ?? "instance.ts"), [], {
    execArgv: ["--import", "tsx"],
    env: {
      ...process.env,
      NODE_ENV: "test",
      LOG_LEVEL: options.logLevel ?? "error",
      DATABASE_URL: options.url,
      DATABASE_POOL_SIZE: "6",
      RUNNER_POLL_MS: "50",
      RUNNER_LEASE_TTL_MS: String(options.ttlMs),
      ...options.env,
    },
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const lines: string[] = [];
  let rest = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  });
  const [message] = (await Promise.race([
    once(child, "message"),
    once(child, "exit").then(() => {
      throw new Error("instance exited before serving");
    }),
  ])) as [{ url: string }];
  return {
    child,
    url: message.url,
    pid: child.pid!,
    lines,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Sends a mutation; true when its result says Ok. Never throws (a dead instance is false). */
export async function post(target: Child, query: string, variables: Record<string, unknown>): Promise<boolean> {
  const json = await postToProcess<{ data?: Record<string, { errorCode: string }> }>(target.url, query, variables);
  return Object.values(json?.data ?? {})[0]?.errorCode === "Ok";
}

/** Stops a child gracefully (SIGTERM: it releases its leases) and waits for it to exit. */
export async function stopChild(target: Child): Promise<void> {
  if (!target.alive()) return;
  const exited = once(target.child, "exit");
  target.child.kill("SIGTERM");
  await exited;
}

/** The pid in a lease owner (`host:pid:tag`). */
export const pidOf = (owner: string): number => Number(owner.split(":")[1]);
