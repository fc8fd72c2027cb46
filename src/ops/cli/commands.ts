/**
 * The CLI's commands, their help and exit codes (0 done, 1 failed, 2 usage mistake). Each
 * command opens the configured database for itself: PGlite's folder while no server holds it,
 * PostgreSQL beside running servers. `runCli` takes its streams and environment as arguments,
 * so tests run it in-process exactly as `npm run stageline -- …` does.
 */
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import cliProgress from "cli-progress";
import { type Config, loadConfig } from "../../config.ts";
import type { BoundedContext } from "../../core/context.ts";
import { StagelineError } from "../../core/errors.ts";
import { Registry } from "../../core/registry.ts";
import { contexts as defaultContexts } from "../../domains/index.ts";
import { logger } from "../../logger.ts";
import { CheckpointStore } from "../../store/checkpoint-store.ts";
import { CommandStore } from "../../store/command-store.ts";
import { type Database, openDatabase } from "../../store/database.ts";
import { parseDatabaseUrl } from "../../store/database-url.ts";
import { migrate } from "../../store/migrations.ts";
import { OpsQueries } from "../../store/ops-queries.ts";
import { ResultStore } from "../../store/result-store.ts";
import { sqlState } from "../../store/sql.ts";
import { ImportInvalid, NotMigrated, UsageError } from "../errors.ts";
import { parseArgs, parsePosition } from "./args.ts";
import { discardDeadLetter, retryDeadLetter, showDeadLetter, viewOf } from "./dead-letters.ts";
import { failedCommandsCommands } from "./failed-commands.ts";
import { exportLog, importLog } from "./log-transfer.ts";
import { rebuildProjection } from "./rebuild.ts";
import { replayProcessor } from "./replay.ts";
import { securityCommands } from "./security.ts";
import { collectStatus, formatStatus } from "./status.ts";

/** Where a CLI run reads and writes (tests pass their own), and the environment it configures from. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  contexts?: readonly BoundedContext[];
}

interface Command {
  usage: string;
  describe: string;
  run(args: string[], io: CliIo): Promise<void>;
}

const print = (io: CliIo, text: string): void => {
  io.stdout.write(`${text}\n`);
};
const printJson = (io: CliIo, value: unknown) => print(io, JSON.stringify(value, null, 2));

/** Opens the configured database for one command (migrating first only when asked). */
async function withDatabase<T>(
  io: CliIo,
  work: (db: Database, config: Config) => Promise<T>,
  options: { migrate?: boolean; poolSize?: number } = {},
): Promise<T> {
  const config = loadConfig(io.env);
  const db = await openDatabase(parseDatabaseUrl(config.databaseUrl, config.dataDir), {
    poolSize: options.poolSize ?? 2,
  });
  try {
    if (options.migrate) await migrate(db.sql, { logger });
    return await work(db, config);
  } catch (error) {
    // 42P01: undefined table. The database was never migrated: say so instead of a driver error.
    if (sqlState(error) === "42P01") {
      throw new NotMigrated(`${db.description} has no Stageline tables yet: run \`npm run db:migrate\` first`);
    }
    throw error;
  } finally {
    await db.close();
  }
}

function progressBar(io: CliIo, label: string, total: number): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} events`,
      noTTYOutput: true,
      notTTYSchedule: 1000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(total, 1), 0);
  return bar;
}

const commands: Record<string, Command> = {
  migrate: {
    usage: "migrate",
    describe: "apply pending migrations to DATABASE_URL (or the embedded database)",
    async run(_args, io) {
      await withDatabase(io, async (db) => {
        const report = await migrate(db.sql, { logger });
        print(
          io,
          report.applied.length
            ? `Applied ${report.applied.length} migration(s) to ${db.description}: ${report.applied.join(", ")}`
            : `${db.description} is up to date (${report.alreadyApplied} migration(s) applied).`,
        );
      });
    },
  },
  rebuild: {
    usage: "rebuild <projection>",
    describe: "refill a projection's tables from the log and swap them in, without downtime",
    async run([projection], io) {
      if (!projection) throw new UsageError("Usage: stageline rebuild <projection>   (e.g. banking.AccountView)");
      await withDatabase(
        io,
        async (db) => {
          const done = await rebuildProjection(db, projection, { contexts: io.contexts, stream: io.stderr });
          print(io, `Rebuilt ${done.projection} (${done.tables.join(", ")}) from ${done.processed} events.`);
        },
        { migrate: true, poolSize: 4 },
      );
    },
  },
  replay: {
    usage: "replay <processor> --from <position> [--yes] [--json]",
    describe:
      "move a saga's, event handler's or snapshotter's checkpoint back to read the log again from a position (0: the start); --yes to do it",
    async run(args, io) {
      const { positional, flags } = parseArgs(args, { valued: ["from"], boolean: ["yes", "json"] });
      const [processor] = positional;
      if (!processor || positional.length > 1 || !flags.has("from")) {
        throw new UsageError(`Usage: stageline ${commands.replay!.usage}`);
      }
      const position = parsePosition(flags.get("from") as string, "--from");
      await withDatabase(io, async (db) => {
        const plan = await replayProcessor(
          {
            queries: new OpsQueries(db.sql),
            checkpoints: new CheckpointStore(db.sql),
            registry: new Registry(registryContexts(io), { snapshots: true }),
          },
          processor,
          position,
          flags.has("yes"),
        );
        if (flags.has("json")) printJson(io, plan);
        else
          print(
            io,
            `${plan.processor} moved back from position ${plan.from.position}: it reads the log again from position ${plan.replayFrom} (a running runner at its next batch).`,
          );
      });
    },
  },
  status: {
    usage: "status [--json]",
    describe:
      "every processor's checkpoint, lag and dead letters; the log head, the command queue (pending, claimed, failing, given up) and migrations",
    async run(args, io) {
      const { flags } = parseArgs(args, { boolean: ["json"] });
      await withDatabase(io, async (db) => {
        const report = await collectStatus(
          new OpsQueries(db.sql),
          new Registry(registryContexts(io), { snapshots: true }),
          db.description,
        );
        if (flags.has("json")) printJson(io, report);
        else print(io, formatStatus(report));
      });
    },
  },
  "dead-letters": {
    usage:
      "dead-letters list [--processor <id>] [--json] | show <processor> <position> | retry <processor> <position> | discard <processor> <position>",
    describe: "look at the events processors gave up on; retry one (after a fix) or discard it",
    async run(args, io) {
      const { positional, flags } = parseArgs(args, { valued: ["processor"], boolean: ["json"] });
      const [action, processor, positionText] = positional;
      const needTarget = () => {
        if (!processor) throw new UsageError(`Usage: stageline dead-letters ${action} <processor> <position>`);
        return { processor, position: parsePosition(positionText) };
      };
      switch (action) {
        case "list":
          return withDatabase(io, async (db) => {
            const list = (await new OpsQueries(db.sql).deadLetters(flags.get("processor") as string | undefined)).map(
              viewOf,
            );
            if (flags.has("json")) return printJson(io, list);
            if (list.length === 0) return print(io, "No dead letters.");
            for (const d of list) {
              print(
                io,
                `${d.processor}  position ${d.position}  ${d.eventType}  ${d.attempts} attempt(s)  ${d.parkedAt}\n    ${d.error}`,
              );
            }
          });
        case "show": {
          const target = needTarget();
          return withDatabase(io, async (db) => {
            printJson(io, await showDeadLetter(new OpsQueries(db.sql), target.processor, target.position));
          });
        }
        case "discard": {
          const target = needTarget();
          return withDatabase(io, async (db) => {
            await discardDeadLetter(new OpsQueries(db.sql), target.processor, target.position);
            print(io, `Discarded the dead letter of ${target.processor} at position ${target.position}.`);
          });
        }
        case "retry": {
          const target = needTarget();
          return withDatabase(
            io,
            async (db, config) => {
              // Loaded only here: the whole engine (GraphQL schema included) is needed for a retry alone.
              const { createApp } = await import("../../app.ts");
              const app = await createApp({ config, database: db, contexts: registryContexts(io), logger });
              try {
                await retryDeadLetter(app, new OpsQueries(db.sql), target.processor, target.position);
              } finally {
                await app.stop();
              }
              print(io, `${target.processor} processed position ${target.position}; its dead letter is removed.`);
            },
            { poolSize: 4 },
          );
        }
        default:
          throw new UsageError(`Usage: stageline ${commands["dead-letters"]!.usage}`);
      }
    },
  },
  prune: {
    usage: "prune [--json]",
    describe: "delete idempotency keys (finished commands) and command results past their retention",
    async run(args, io) {
      const { flags } = parseArgs(args, { boolean: ["json"] });
      await withDatabase(io, async (db, config) => {
        const commandsDeleted = await new CommandStore(db.sql, config.retentionMs).purgeExpired();
        const resultsDeleted = await new ResultStore(db.sql, config.retentionMs).purgeExpired();
        if (flags.has("json")) printJson(io, { commands: commandsDeleted, results: resultsDeleted });
        else print(io, `Pruned ${commandsDeleted} command(s) and ${resultsDeleted} result(s) past retention.`);
      });
    },
  },
  export: {
    usage: "export [--out <file> [--json]]",
    describe: "write the event log as NDJSON to a file (progress on stderr) or to stdout",
    async run(args, io) {
      const { positional, flags } = parseArgs(args, { valued: ["out"], boolean: ["json"] });
      const out = flags.get("out") as string | undefined;
      // Without --out, stdout is the NDJSON itself: there is no room for a summary.
      if (positional.length > 0 || (flags.has("json") && !out)) {
        throw new UsageError(`Usage: stageline ${commands.export!.usage}`);
      }
      await withDatabase(io, async (db) => {
        const queries = new OpsQueries(db.sql);
        const target = out ? createWriteStream(out) : io.stdout;
        const bar = out ? progressBar(io, "export", (await queries.head()).events) : undefined;
        const written = await exportLog(
          queries,
          (line) => writeLine(target, line),
          (n) => bar?.update(n),
        );
        bar?.stop();
        if (out) {
          await new Promise<void>((resolve, reject) =>
            (target as WriteStream).end((e?: Error | null) => (e ? reject(e) : resolve())),
          );
          if (flags.has("json")) printJson(io, { events: written, file: out });
          else print(io, `Exported ${written} events to ${out}.`);
        }
      });
    },
  },
  import: {
    usage: "import <file | -> [--json]",
    describe: "load an NDJSON export into an empty database (all or nothing); read models rebuild as runners catch up",
    async run(args, io) {
      const { positional, flags } = parseArgs(args, { boolean: ["json"] });
      const [file] = positional;
      if (!file || positional.length > 1) throw new UsageError(`Usage: stageline ${commands.import!.usage}`);
      // A file's events are counted first (one pass over it) so the progress bar has a total.
      const total = file === "-" ? undefined : await linesIn(file);
      await withDatabase(
        io,
        async (db) => {
          const input = file === "-" ? io.stdin : createReadStream(file);
          const bar = total === undefined ? undefined : progressBar(io, "import", total - 1);
          const registry = new Registry(registryContexts(io), { snapshots: true });
          const report = await importLog(db.sql, new OpsQueries(db.sql), registry, input, (n) =>
            bar?.update(n),
          ).finally(() => bar?.stop());
          if (flags.has("json")) return printJson(io, report);
          print(
            io,
            `Imported ${report.events} events. ${report.skippedProcessors.length} saga/handler processor(s) start after them: ${report.skippedProcessors.join(", ") || "none"}.`,
          );
        },
        { migrate: true },
      );
    },
  },
  ...failedCommandsCommands(withDatabase),
  ...securityCommands(withDatabase),
};

const registryContexts = (io: CliIo) => io.contexts ?? defaultContexts;

async function linesIn(file: string): Promise<number> {
  let lines = 0;
  let last = 10;
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
      last = chunk.at(-1) ?? last;
    }
  } catch (error) {
    throw new ImportInvalid(`Cannot read ${file}: ${(error as Error).message}`);
  }
  return last === 10 ? lines : lines + 1;
}

function writeLine(stream: NodeJS.WritableStream, line: string): Promise<void> | undefined {
  if (stream.write(`${line}\n`)) return undefined;
  return new Promise((resolve) => stream.once("drain", () => resolve()));
}

function help(): string {
  const width = Math.max(...Object.values(commands).map((c) => c.usage.split(" ")[0]!.length)) + 2;
  return [
    "Usage: npm run stageline -- <command> [options]",
    "",
    "Commands:",
    ...Object.entries(commands).map(
      ([name, c]) => `  ${name.padEnd(width)} ${c.describe}\n  ${"".padEnd(width)} stageline ${c.usage}`,
    ),
    "",
    "Configured like the server (DATABASE_URL, or STAGELINE_DATA_DIR for the embedded database).",
    "Exit codes: 0 done, 1 failed (the error's code is printed), 2 usage mistake.",
  ].join("\n");
}

/** Runs one CLI command; resolves with its exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    (name ? io.stdout : io.stderr).write(`${help()}\n`);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`Unknown command ${name}.\n\n${help()}\n`);
    return 2;
  }
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout.write(`Usage: stageline ${command.usage}\n\n${command.describe}\n`);
    return 0;
  }
  try {
    await command.run(args, io);
    return 0;
  } catch (error) {
    io.stderr.write(`${error instanceof StagelineError ? `${error.code}: ${error.message}` : String(error)}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

export const processIo = (): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
