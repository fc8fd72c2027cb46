/**
 * The command worker against a queue and a processor in memory: a command that throws is given
 * back (its failure recorded) while the rest of its batch is processed; claims in hand are
 * renewed while a command takes longer than a third of their time to live; a stop gives back
 * whatever this process still claims; a command that failed `maxFailures` times is set aside and
 * its COMMAND_FAILED answer published. (The claim itself, on both engines: test/scaleout/command-queue*.)
 */
import { describe, expect, it } from "vitest";
import type { NewResult } from "../../src/core/results.ts";
import type { CommandResult } from "../../src/core/stages.ts";
import type { AggregateProcessor } from "../../src/gateway/aggregate-processor.ts";
import { CommandWorker } from "../../src/gateway/command-worker.ts";
import { ResultBus } from "../../src/gateway/result-bus.ts";
import { createLogger } from "../../src/logger.ts";
import type { ClaimOptions, CommandQueue, FailedCommand } from "../../src/store/command-queue.ts";
import type { StoredCommand } from "../../src/store/command-store.ts";
import type { ResultStore } from "../../src/store/result-store.ts";
import type { SqlClient, SqlExecutor } from "../../src/store/sql.ts";
import { waitUntil } from "../support/eventually.ts";

const command = (commandId: string, aggregateId: string): StoredCommand => ({
  commandId,
  tenantId: "t",
  requestId: commandId,
  payloadHash: "",
  contextName: "c",
  aggregateName: "A",
  aggregateId,
  type: "Do",
  data: {},
  header: {},
  expectedVersion: null,
  correlationId: commandId,
  causationId: commandId,
  async: true,
  status: "PENDING",
  createdAt: new Date(),
});

/** A queue in memory: a command given back is claimable again at once (no backoff here). */
class MemoryQueue {
  waiting: StoredCommand[] = [];
  claims: ClaimOptions[] = [];
  renewed: string[][] = [];
  failed: { commandId: string; error: string }[] = [];
  released: string[] = [];
  requeueFailed = false;
  private readonly failures = new Map<string, number>();
  private readonly byId = new Map<string, StoredCommand>();
  aside: FailedCommand[] = [];
  async claim(options: ClaimOptions): Promise<StoredCommand[]> {
    this.claims.push(options);
    return this.waiting.splice(0, options.limit);
  }
  async renew(_owner: string, commandIds: readonly string[]): Promise<void> {
    this.renewed.push([...commandIds]);
  }
  async fail(_owner: string, commandId: string, error: string): Promise<number> {
    this.failed.push({ commandId, error });
    const failures = (this.failures.get(commandId) ?? 0) + 1;
    this.failures.set(commandId, failures);
    const command = this.byId.get(commandId);
    if (this.requeueFailed && command) this.waiting.push(command);
    return failures;
  }
  track(command: StoredCommand): StoredCommand {
    this.byId.set(command.commandId, command);
    return command;
  }
  async setAside(_tx: SqlExecutor, commandId: string, maxFailures: number): Promise<FailedCommand | undefined> {
    const failures = this.failures.get(commandId) ?? 0;
    if (failures < maxFailures) return undefined;
    this.waiting = this.waiting.filter((c) => c.commandId !== commandId);
    const aside = { command: this.byId.get(commandId)!, failures, lastError: "x", failedAt: new Date() };
    this.aside.push(aside);
    return aside;
  }
  async releaseAll(owner: string): Promise<void> {
    this.released.push(owner);
  }
}

/** Stores results by handing them back with an ID, as the result store does. */
const memoryResults = {
  async insert(results: readonly NewResult[]): Promise<CommandResult[]> {
    return results.map((r, i) => ({ ...r, id: String(i + 1), signalTime: new Date() }));
  },
} as unknown as ResultStore;

const memorySql = { transaction: (work: (tx: SqlExecutor) => Promise<unknown>) => work({} as SqlExecutor) };

function worker(
  queue: MemoryQueue,
  process: (c: StoredCommand) => Promise<unknown>,
  extra: { bus?: ResultBus; maxFailures?: number } = {},
) {
  return new CommandWorker(
    {
      queue: queue as unknown as CommandQueue,
      processor: { process } as unknown as AggregateProcessor,
      logger: createLogger({ level: "silent" }),
      sql: memorySql as unknown as SqlClient,
      results: memoryResults,
      bus: extra.bus ?? new ResultBus(),
    },
    {
      pollMs: 10,
      batchSize: 10,
      orphanAfterMs: 1_000,
      claimTtlMs: 60,
      owner: "me",
      ...(extra.maxFailures ? { maxFailures: extra.maxFailures } : {}),
    },
  );
}

describe("command worker", () => {
  it("gives a throwing command back and processes the rest of its batch", async () => {
    const queue = new MemoryQueue();
    queue.waiting = [command("1", "a"), command("2", "poison"), command("3", "b")];
    const processed: string[] = [];
    const w = worker(queue, async (c) => {
      if (c.aggregateId === "poison") throw new Error("cannot store this event");
      processed.push(c.commandId);
    });
    w.start();
    await waitUntil("the batch handled", () => processed.length === 2 && queue.failed.length === 1, {
      timeoutMs: 10_000,
    });
    await w.stop();
    expect(processed.sort()).toEqual(["1", "3"]);
    expect(queue.failed).toEqual([{ commandId: "2", error: "cannot store this event" }]);
    expect(queue.claims[0]).toMatchObject({ owner: "me", limit: 10, ttlMs: 60, orphanAfterMs: 1_000 });
    expect(queue.released).toEqual(["me"]);
  });

  it("renews the claims still in hand while a command takes long", async () => {
    const queue = new MemoryQueue();
    queue.waiting = [command("quick", "a"), command("slow", "b")];
    let finish: () => void = () => {};
    const slow = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const w = worker(queue, (c) => (c.commandId === "slow" ? slow : Promise.resolve()));
    w.start();
    await waitUntil("two renewals", () => queue.renewed.length >= 2, { timeoutMs: 10_000 });
    // Only the command still being processed is renewed.
    expect(queue.renewed.at(-1)).toEqual(["slow"]);
    finish();
    await w.stop();
    const renewals = queue.renewed.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(queue.renewed.length).toBe(renewals);
  });

  it("sets a command aside after maxFailures failures and publishes its COMMAND_FAILED answer", async () => {
    const queue = new MemoryQueue();
    queue.requeueFailed = true;
    queue.waiting = [queue.track(command("poison", "p")), queue.track(command("fine", "f"))];
    const bus = new ResultBus();
    const answers: CommandResult[] = [];
    bus.subscribe("poison", (r) => answers.push(r));
    let attempts = 0;
    const processed: string[] = [];
    const w = worker(
      queue,
      async (c) => {
        if (c.commandId === "poison") {
          attempts++;
          throw new Error("the disk is full");
        }
        processed.push(c.commandId);
      },
      { bus, maxFailures: 3 },
    );
    w.start();
    await waitUntil("the poison command set aside", () => queue.aside.length === 1 && answers.length === 1, {
      timeoutMs: 10_000,
    });
    await w.stop();
    expect(attempts).toBe(3);
    expect(processed).toEqual(["fine"]);
    expect(queue.aside[0]).toMatchObject({ failures: 3, command: { commandId: "poison" } });
    expect(answers[0]).toMatchObject({
      stage: "PROCESSED",
      scope: "STAGE",
      succeeded: false,
      errorCode: "COMMAND_FAILED",
      function: { functionKind: "GATEWAY", processorName: "CommandQueue" },
    });
    // The operator's error is in the row, not in the client's answer.
    expect(answers[0]!.errorMsg).not.toMatch(/disk/);
  });
});
