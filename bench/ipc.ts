/**
 * The bench's processes talk over Node's IPC channel: the orchestrator forks each child (run
 * through tsx), sends it `{ id, op, args }` and awaits `{ id, ok, result | error }`. One tiny
 * protocol for the server, the client drivers and the peers.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

interface Request {
  id: number;
  op: string;
  args: unknown;
}
type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export type Handlers = Record<string, (args: never) => unknown>;

/** In a child: answer the orchestrator's requests with `handlers`; say "ready" once loaded. */
export function serve(handlers: Handlers): void {
  if (!process.send) throw new Error("This is a bench child process: run it through `npm run bench`");
  process.on("message", (message: Request) => {
    const handler = handlers[message.op] as ((args: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown op ${message.op}`);
        return handler(message.args);
      })
      .then(
        (result) => process.send?.({ id: message.id, ok: true, result } satisfies Reply),
        (error: unknown) =>
          process.send?.({
            id: message.id,
            ok: false,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          } satisfies Reply),
      );
  });
  // The orchestrator's end is ours: a child never outlives it.
  process.on("disconnect", () => process.exit(0));
  process.send({ ready: true });
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  call<T>(op: string, args?: unknown): Promise<T>;
  /** Asks the child to exit (SIGTERM), waits for it, kills it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  cwd?: string;
}

/** Forks `file` (a path relative to bench/, or absolute) under tsx and waits until it is ready. */
export async function spawnChild(name: string, file: string, options: SpawnOptions = {}): Promise<Child> {
  const path = file.startsWith("/") ? file : fileURLToPath(new URL(file, import.meta.url));
  const child = fork(path, [], {
    execArgv: ["--import", "tsx", ...(options.nodeArgs ?? [])],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn", ...options.env },
    cwd: options.cwd,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.on("exit", (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited (${code ?? signal}) during a request`));
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: { ready?: boolean }) => {
      if (message.ready) {
        child.off("exit", onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${name} exited (${code}) before it was ready`));
    child.once("exit", onExit);
    child.on("message", onMessage);
  });
  child.on("message", (message: Reply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(`${name}: ${message.error}`));
  });
  return {
    name,
    process: child,
    call<T>(op: string, args?: unknown) {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, op, args } satisfies Request);
      });
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
