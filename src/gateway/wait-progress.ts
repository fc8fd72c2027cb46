/**
 * Pure bookkeeping of one wait: which results to hand to the waiter, in an order that respects
 * the stages (a runner stage never before PROCESSED), and when the wait is over.
 *
 * Single command: over at the target stage (of the named processor, or the stage itself, which
 * implies every interested processor passed), or at a failure on the way (PROCESSED refused, or
 * the target stage failed).
 * Chain: the root and every command sagas issued from it, recursively, each reached the target
 * (or was refused) and had its sagas settle (so no further command can join the tree).
 */
import {
  type CommandResult,
  hasProcessorFilter,
  isRunnerStage,
  matchesProcessor,
  RUNNER_STAGES,
  type WaitTarget,
} from "../core/stages.ts";

interface CommandProgress {
  processed?: CommandResult;
  runnerStages: Set<string>;
  reachedTarget: boolean;
  sagasSettled: boolean;
  held: CommandResult[];
}

export class WaitProgress {
  private readonly commands = new Map<string, CommandProgress>();
  private readonly seen = new Set<string>();
  done = false;
  last: CommandResult | undefined;
  /** The latest result of the command waited on (in a chain, `last` may be another command's). */
  lastOfRoot: CommandResult | undefined;

  constructor(
    private readonly rootCommandId: string,
    private readonly target: WaitTarget,
  ) {
    this.progress(rootCommandId);
  }

  /** Takes one result; returns the results now ready for the waiter, in order. */
  accept(result: CommandResult): CommandResult[] {
    if (this.done || this.seen.has(result.id)) return [];
    this.seen.add(result.id);
    if (!this.target.chain && result.commandId !== this.rootCommandId) return [];
    const progress = this.progress(result.commandId);
    if (isRunnerStage(result.stage) && !progress.processed) {
      progress.held.push(result);
      return [];
    }
    const ready = [result];
    if (result.stage === "PROCESSED") {
      progress.processed = result;
      ready.push(...progress.held.splice(0));
    }
    const out: CommandResult[] = [];
    for (const r of ready) {
      if (this.done) break;
      out.push(r);
      this.last = r;
      if (r.commandId === this.rootCommandId) this.lastOfRoot = r;
      this.apply(r);
    }
    return out;
  }

  private progress(commandId: string): CommandProgress {
    let p = this.commands.get(commandId);
    if (!p) {
      p = { reachedTarget: false, sagasSettled: false, held: [], runnerStages: new Set() };
      this.commands.set(commandId, p);
    }
    return p;
  }

  private apply(result: CommandResult): void {
    const p = this.progress(result.commandId);
    const isRoot = result.commandId === this.rootCommandId;
    const { stage } = this.target;

    if (result.stage === "PROCESSED" && !result.succeeded) {
      // Refused: nothing follows it. For the root (or a single wait) that ends the wait.
      p.reachedTarget = true;
      p.sagasSettled = true;
      if (isRoot || !this.target.chain) this.done = true;
    }
    if (result.stage === "SAGA_HANDLED") {
      for (const child of childCommandIds(result)) this.progress(child);
      if (result.scope === "STAGE") p.sagasSettled = true;
    }
    if (stage === "ALL" && isRunnerStage(result.stage) && result.scope === "STAGE") {
      p.runnerStages.add(result.stage);
      if (p.runnerStages.size === RUNNER_STAGES.length) p.reachedTarget = true;
    }
    if (result.stage === stage && this.matchesTarget(result)) {
      p.reachedTarget = true;
      if (!result.succeeded && (isRoot || !this.target.chain)) this.done = true;
    }
    if (stage === "SENT" && result.stage === "SENT") p.reachedTarget = true;
    if (!this.target.chain) {
      if (p.reachedTarget) this.done = true;
      return;
    }
    this.done ||= [...this.commands.values()].every((c) => c.reachedTarget && c.sagasSettled);
  }

  private matchesTarget(result: CommandResult): boolean {
    if (result.scope === "STAGE") return true;
    return hasProcessorFilter(this.target.processor) && matchesProcessor(result.function, this.target.processor);
  }
}

const childCommandIds = (result: CommandResult): string[] => {
  const ids = result.result.commandIds;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
};
