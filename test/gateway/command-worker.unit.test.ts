/**
 * The command worker against a queue and a processor in memory: a command that throws is given
 * back (its failure recorded) while the rest of its batch is processed; claims in hand are
 * renewed while a command takes longer than a third of their time to live; a stop gives back
 * whatever this process still claims. (The claim itself, on both engines: test/scaleout/command-queue*.)
 */
import { describe, expect, it } from "vitest";
import type { AggregateProcessor } from "../../src/gateway/aggregate-processor.ts";
import { CommandWorker } from "../../src/gateway/command-worker.ts";
import { createLogger } from "../../src/logger.ts";
import type { ClaimOptions, CommandQueue } from "../../src/store/command-queue.ts";
import type { StoredCommand } from "../../src/store/command-store.ts";
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
  isAsync: true,
  status: "PENDING",
  createdAt: new Date(),
});

class MemoryQueue {
  waiting: StoredCommand[] = [];
  claims: ClaimOptions[] = [];
  renewed: string[][] = [];
  failed: { commandId: string; error: string }[] = [];
  released: string[] = [];
  async claim(options: ClaimOptions): Promise<StoredCommand[]> {
    this.claims.push(options);
    return this.waiting.splice(0, options.limit);
  }
  async renew(_owner: string, commandIds: readonly string[]): Promise<void> {
    this.renewed.push([...commandIds]);
  }
  async fail(_owner: string, commandId: string, error: string): Promise<number> {
    this.failed.push({ commandId, error });
    return 1;
  }
  async releaseAll(owner: string): Promise<void> {
    this.released.push(owner);
  }
}

function worker(queue: MemoryQueue, process: (c: StoredCommand) => Promise<unknown>) {
  return new CommandWorker(
    {
      queue: queue as unknown as CommandQueue,
      processor: { process } as unknown as AggregateProcessor,
      logger: createLogger({ level: "silent" }),
    },
    { pollMs: 10, batchSize: 10, orphanAfterMs: 1_000, claimTtlMs: 60, owner: "me" },
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
});
