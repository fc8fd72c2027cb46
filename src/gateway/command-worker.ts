/**
 * Takes PENDING commands from the table and processes them: asynchronous commands, and
 * synchronous ones whose request died before processing them (a crash). Wakes when told that
 * a command was queued, and polls as a fallback, so a restart loses none.
 */
import type { Logger } from "../logger.ts";
import type { CommandStore } from "../store/command-store.ts";
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

  constructor(
    private readonly deps: { commands: CommandStore; processor: AggregateProcessor; logger: Logger },
    private readonly options: CommandWorkerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
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

  private async run(): Promise<void> {
    let failures = 0;
    let outage = false;
    while (this.running) {
      let processed = 0;
      try {
        const pending = await this.deps.commands.pending(this.options.batchSize, this.options.orphanAfterMs);
        // The processor keeps per-aggregate order; different aggregates go in parallel.
        await Promise.all(pending.map((command) => this.deps.processor.process(command)));
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
