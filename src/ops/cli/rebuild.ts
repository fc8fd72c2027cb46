/**
 * `stageline rebuild <projection>` as a function: rebuilds one projection in this process with a
 * progress bar (tests and the CLI call it).
 */
import cliProgress from "cli-progress";
import { loadConfig } from "../../config.ts";
import type { BoundedContext } from "../../core/context.ts";
import { RebuildFailed } from "../../core/errors.ts";
import { Registry } from "../../core/registry.ts";
import { contexts as defaultContexts } from "../../domains/index.ts";
import { logger } from "../../logger.ts";
import { ProjectionRebuilds, type RebuildProgress } from "../../runners/rebuild.ts";
import { CheckpointStore } from "../../store/checkpoint-store.ts";
import type { Database } from "../../store/database.ts";
import { DeadLetterStore } from "../../store/dead-letter-store.ts";
import { EventLog } from "../../store/event-log.ts";

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
  if (last.state === "FAILED") throw new RebuildFailed(`${last.errorCode}: ${last.errorMsg}`);
  return last;
}
