/**
 * Takes PENDING commands from the table and processes them: asynchronous commands, and
 * synchronous ones whose request died before processing them (a crash). Wakes when told that
 * a command was queued, and polls as a fallback, so a restart loses none.
 */
import type { Logger } from "../logger.ts";
import type { CommandStore } from "../store/command-store.ts";
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
    while (this.running) {
      let processed = 0;
      try {
        const pending = await this.deps.commands.pending(this.options.batchSize, this.options.orphanAfterMs);
        // The processor keeps per-aggregate order; different aggregates go in parallel.
        await Promise.all(pending.map((command) => this.deps.processor.process(command)));
        processed = pending.length;
        failures = 0;
      } catch (error) {
        failures++;
        this.deps.logger.warn({ err: error, failures }, "command worker failed; backing off");
      }
      if (processed < this.options.batchSize || failures > 0) {
        const delay = failures > 0 ? Math.min(this.options.pollMs * 2 ** failures, 30_000) : this.options.pollMs;
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
