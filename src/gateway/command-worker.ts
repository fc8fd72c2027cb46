/**
 * Takes PENDING commands from the table and processes them: asynchronous commands, and
 * synchronous ones whose request died before processing them (a crash). Wakes when told that
 * a command was queued, and polls as a fallback, so a restart loses none. Taking up commands
 * stored before the start (a recovery) or left by their requests is said in the log; each
 * command is processed in its log context and trace (src/ops/command-scope.ts).
 */
import type { Logger } from "../logger.ts";
import { inWorkerScope } from "../ops/command-scope.ts";
import type { CommandStore, StoredCommand } from "../store/command-store.ts";
import { isDatabaseUnavailable } from "../store/unavailable.ts";
import type { AggregateProcessor } from "./aggregate-processor.ts";

export interface CommandWorkerOptions {
  pollMs: number;
  batchSize: number;
  /** A sync command still PENDING after this long was abandoned by its request. */
  orphanAfterMs: number;
}

export class CommandWorker {
  private running = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** Commands stored before this are a recovery's (see reportRecovered). */
  private startedAt = new Date();

  constructor(
    private readonly deps: { commands: CommandStore; processor: AggregateProcessor; logger: Logger },
    private readonly options: CommandWorkerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = new Date();
    this.loop = this.run();
  }

  /** A command was queued: look now rather than at the next poll. */
  notify(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /**
   * Commands stored before this worker started (a restart after a crash or a stop), and
   * synchronous ones whose request gave up on them (orphans): one log line per batch that takes
   * any up, so a recovery shows in the log. Asynchronous commands sent since the start are the
   * worker's ordinary work and say nothing.
   */
  private reportRecovered(pending: readonly StoredCommand[]): Set<StoredCommand> {
    const recovered = new Set(pending.filter((c) => c.createdAt < this.startedAt || !c.isAsync));
    if (recovered.size === 0) return recovered;
    const list = [...recovered];
    const beforeStart = list.filter((c) => c.createdAt < this.startedAt);
    const oldest = Math.min(...list.map((c) => c.createdAt.getTime()));
    this.deps.logger.info(
      {
        commands: list.length,
        storedBeforeStart: beforeStart.length,
        orphaned: list.filter((c) => !c.isAsync).length,
        oldestAgeMs: Date.now() - oldest,
        commandIds: list.slice(0, 10).map((c) => c.commandId),
      },
      beforeStart.length > 0
        ? "taking up commands stored before this start (recovery)"
        : "taking up synchronous commands their requests left unprocessed",
    );
    return recovered;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let outage = false;
    while (this.running) {
      let processed = 0;
      try {
        const pending = await this.deps.commands.pending(this.options.batchSize, this.options.orphanAfterMs);
        const recovered = this.reportRecovered(pending);
        // The processor keeps per-aggregate order; different aggregates go in parallel.
        await Promise.all(
          pending.map((command) =>
            inWorkerScope(command, recovered.has(command), () => this.deps.processor.process(command)),
          ),
        );
        processed = pending.length;
        if (failures > 0) this.deps.logger.info({ failures }, "command worker resumed");
        failures = 0;
      } catch (error) {
        failures++;
        outage = isDatabaseUnavailable(error);
        if (failures === 1 || !outage) {
          this.deps.logger.warn({ err: error, failures }, "command worker failed; backing off");
        }
      }
      if (processed < this.options.batchSize || failures > 0) {
        // A database outage is waited out at a short, fixed pace so work resumes soon after it.
        const ceiling = outage ? 2_000 : 30_000;
        const delay = failures > 0 ? Math.min(this.options.pollMs * 2 ** failures, ceiling) : this.options.pollMs;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }
}
