/**
 * Command line: `npm run db:migrate`, `npm run stageline -- <command>`.
 */
import cliProgress from "cli-progress";
import { loadConfig } from "./config.ts";
import type { BoundedContext } from "./core/context.ts";
import { StagelineError } from "./core/errors.ts";
import { contexts as defaultContexts } from "./domains/index.ts";
import { Registry } from "./gateway/registry.ts";
import { logger } from "./logger.ts";
import { ProjectionRebuilds, RebuildFailed, type RebuildProgress } from "./runners/rebuild.ts";
import { CheckpointStore } from "./store/checkpoint-store.ts";
import { type Database, openDatabase } from "./store/database.ts";
import { parseDatabaseUrl } from "./store/database-url.ts";
import { DeadLetterStore } from "./store/dead-letter-store.ts";
import { EventLog } from "./store/event-log.ts";
import { migrate } from "./store/migrations.ts";

export interface RebuildCliOptions {
  contexts?: readonly BoundedContext[];
  /** Where the progress bar goes (default stderr; drawn in place on a terminal, a line a second otherwise). */
  stream?: NodeJS.WritableStream;
  batchSize?: number;
}

/**
 * `stageline rebuild <projection>`: rebuilds one projection in this process, beside a running
 * server (PostgreSQL: the server's live runner pauses only for the swap) or with none (PGlite,
 * whose folder one process holds at a time). Resolves with the final progress; throws when the
 * projection is unknown or the rebuild failed.
 */
export async function rebuildProjection(
  db: Database,
  projection: string,
  options: RebuildCliOptions = {},
): Promise<RebuildProgress> {
  const config = loadConfig();
  const rebuilds = new ProjectionRebuilds(
    {
      db,
      events: new EventLog(db.sql),
      registry: new Registry(options.contexts ?? defaultContexts),
      checkpoints: new CheckpointStore(db.sql),
      deadLetters: new DeadLetterStore(db.sql),
      logger,
    },
    { ...config.runner, batchSize: options.batchSize ?? Math.max(config.runner.batchSize, 500) },
  );
  const job = await rebuilds.start(projection);
  const bar = new cliProgress.SingleBar(
    {
      stream: options.stream ?? process.stderr,
      format: "{projection} [{bar}] {percentage}% | {value}/{total} events | {rate} events/s | {state}",
      noTTYOutput: true,
      notTTYSchedule: 1000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = (p: RebuildProgress) => ({ projection: p.projection, rate: p.eventsPerSecond, state: p.state });
  bar.start(Math.max(job.progress.total, 1), 0, payload(job.progress));
  let last = job.progress;
  for await (const progress of job.watch()) {
    last = progress;
    bar.setTotal(Math.max(progress.total, progress.processed, 1));
    bar.update(
      progress.state === "DONE" ? Math.max(progress.total, progress.processed, 1) : progress.processed,
      payload(progress),
    );
  }
  bar.stop();
  if (last.state === "FAILED") throw new RebuildFailed(`${last.errorCode}: ${last.errorMessage}`);
  return last;
}

const commands: Record<string, { describe: string; run: (args: string[]) => Promise<void> }> = {
  migrate: {
    describe: "apply pending migrations to DATABASE_URL (or the embedded database)",
    async run() {
      const config = loadConfig();
      const db = await openDatabase(parseDatabaseUrl(config.databaseUrl, config.dataDir), { poolSize: 2 });
      try {
        const report = await migrate(db.sql, { logger });
        console.log(
          report.applied.length
            ? `Applied ${report.applied.length} migration(s) to ${db.description}: ${report.applied.join(", ")}`
            : `${db.description} is up to date (${report.alreadyApplied} migration(s) applied).`,
        );
      } finally {
        await db.close();
      }
    },
  },
  rebuild: {
    describe: "rebuild <projection>: refill a projection's tables from the log and swap them in, without downtime",
    async run([projection]) {
      if (!projection) throw new UsageError("Usage: stageline rebuild <projection>   (e.g. banking.AccountView)");
      const config = loadConfig();
      const db = await openDatabase(parseDatabaseUrl(config.databaseUrl, config.dataDir), { poolSize: 4 });
      try {
        await migrate(db.sql, { logger });
        const done = await rebuildProjection(db, projection);
        console.log(`Rebuilt ${done.projection} (${done.tables.join(", ")}) from ${done.processed} events.`);
      } finally {
        await db.close();
      }
    },
  },
};

class UsageError extends StagelineError {
  readonly code = "USAGE";
}

async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    console.error(
      `Usage: stageline <command>\n\nCommands:\n${Object.entries(commands)
        .map(([n, c]) => `  ${n.padEnd(12)} ${c.describe}`)
        .join("\n")}`,
    );
    process.exitCode = name ? 2 : 0;
    return;
  }
  await command.run(args);
}

// Run only as the entry point: tests import rebuildProjection from here.
if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof StagelineError ? `${error.code}: ${error.message}` : error);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  });
}
