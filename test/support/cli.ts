/**
 * Runs the CLI in-process as a user would from a shell, and hands back its exit code and what it
 * wrote to stdout and stderr.
 */
import { PassThrough } from "node:stream";
import type { BoundedContext } from "../../src/core/context.ts";
import { runCli } from "../../src/ops/cli/commands.ts";

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runCliCaptured(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  contexts: readonly BoundedContext[],
): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk) => {
    out += chunk;
  });
  stderr.on("data", (chunk) => {
    err += chunk;
  });
  const code = await runCli(argv, { stdout, stderr, stdin: new PassThrough(), env, contexts });
  return { code, out, err };
}
