/**
 * `npm start` as a child process, for tests that kill it (SIGKILL, SIGTERM) the way an
 * operator or the kernel would. Resolves once the server prints the URL it serves.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote, for a failing test's message. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const root = resolve(import.meta.dirname, "../..");

export async function startServerProcess(env: Record<string, string>, startTimeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: "test",
      LOG_LEVEL: process.env.SERVER_LOG_LEVEL ?? "warn",
      HOST: "127.0.0.1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const match = /Stageline serves (\S+)/.exec(output);
    if (match) return { url: match[1]!, child, output: () => output, exited };
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`The server exited before listening:\n${output}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`The server did not listen within ${startTimeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Posts a GraphQL operation to a server process that may die under it: its JSON reply, or
 * undefined when there was none (the outcome is then unknown to the caller). Never throws.
 */
export async function postToProcess<T>(url: string, query: string, variables: Record<string, unknown>) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(15_000),
    });
    return (await response.json()) as T;
  } catch {
    return undefined;
  }
}
