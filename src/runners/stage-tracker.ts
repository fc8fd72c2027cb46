/**
 * Turns processor signals into stage results: a runner stage is reached when every processor
 * of that kind interested in the command's events has signalled. Checked after each batch
 * commits, so when two processors finish at once the later one sees both signals; the unique
 * index on results lets only one of them store the stage. When the signalling processor is the
 * only one of its kind interested in the command's events, the stage needs no lookup: the runner
 * asks `stageAlone` and stores the stage in the batch's own statement (with the signals and the
 * checkpoint, so a crash after the commit cannot lose it), and passes only the rest here.
 */
import type { Registry } from "../core/registry.ts";
import { failed, type NewResult, stageResult } from "../core/results.ts";
import type { CommandResult, STAGE_OF_KIND } from "../core/stages.ts";
import type { ResultBus } from "../gateway/result-bus.ts";
import type { ResultStore } from "../store/result-store.ts";
import type { SqlExecutor } from "../store/sql.ts";

export class StageTracker {
  constructor(private readonly deps: { registry: Registry; results: ResultStore; bus: ResultBus; sql: SqlExecutor }) {}

  /**
   * The STAGE result a signal completes by itself (its processor is the only one of its kind
   * interested in these event types), or undefined when other processors must signal too.
   */
  stageAlone(signal: NewResult, eventTypes: readonly string[]): NewResult | undefined {
    return this.interested(signal, eventTypes).length <= 1 ? stageResult(signal, [signal]) : undefined;
  }

  private interested(signal: NewResult, eventTypes: readonly string[]): string[] {
    const kind = signal.function.functionKind as keyof typeof STAGE_OF_KIND;
    return this.deps.registry.interested(kind, eventTypes).map((p) => `${p.contextName}.${p.processor.name}`);
  }

  /** `signals`: PROCESSOR results just committed, with the event types of each command. */
  async onSignals(signals: readonly { signal: CommandResult; eventTypes: readonly string[] }[]): Promise<void> {
    const complete: NewResult[] = [];
    const needLookup: { signal: CommandResult; interested: string[] }[] = [];
    for (const { signal, eventTypes } of signals) {
      const interested = this.interested(signal, eventTypes);
      if (interested.length <= 1) complete.push(stageResult(signal, [signal]));
      else needLookup.push({ signal, interested });
    }
    if (needLookup.length > 0) {
      const rows = await this.deps.sql.query<{
        command_id: string;
        stage: string;
        function_context: string;
        processor_name: string;
        succeeded: boolean;
        error_code: string;
        error_msg: string | null;
      }>(
        `SELECT command_id, stage, function_context, processor_name, succeeded, error_code, error_msg FROM command_results
          WHERE command_id = ANY($1::uuid[]) AND scope = 'PROCESSOR'`,
        [[...new Set(needLookup.map((n) => n.signal.commandId))]],
      );
      for (const { signal, interested } of needLookup) {
        const mine = rows.filter((r) => r.command_id === signal.commandId && r.stage === signal.stage);
        const done = new Set(mine.map((r) => `${r.function_context}.${r.processor_name}`));
        if (interested.every((id) => done.has(id))) {
          const failures = mine.filter((r) => !r.succeeded).map((r) => failed(r.error_code, r.error_msg ?? ""));
          complete.push(stageResult(signal, failures.length > 0 ? failures : [signal]));
        }
      }
    }
    if (complete.length === 0) return;
    const stored = await this.deps.results.insert(complete);
    this.deps.bus.publish(stored);
  }
}
