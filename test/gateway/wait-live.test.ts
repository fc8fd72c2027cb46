/**
 * A wait's live side, with no database: it listens from the moment it is created (so a wait
 * made before its command is stored misses nothing and reads nothing), a waiter that does not
 * read holds up no other waiter, and a wait nobody reads lets go of the bus.
 */

import { describe, expect, it } from "vitest";
import { CoreCode } from "../../src/core/errors.ts";
import { gatewayFunction, newResult } from "../../src/core/results.ts";
import type { CommandResult, Stage } from "../../src/core/stages.ts";
import { ResultBus } from "../../src/gateway/result-bus.ts";
import { waitForResults } from "../../src/gateway/wait.ts";
import type { ResultStore } from "../../src/store/result-store.ts";

const COMMAND = "00000000-0000-7000-8000-00000000000a";
let ids = 0;

const ADA = { contextName: "banking", aggregateName: "Account", aggregateId: "ada" };

function result(stage: Stage, commandId = COMMAND): CommandResult {
  return {
    id: `r${++ids}`,
    signalTime: new Date(),
    ...newResult(
      { commandId, correlationId: commandId, tenantId: "default", requestId: commandId, ...ADA },
      { stage, scope: "STAGE", function: gatewayFunction("", ""), aggregateVersion: stage === "SENT" ? null : 1 },
    ),
  };
}

/** A store that holds `stored` and counts how often it was read. */
function countingStore(stored: CommandResult[] = []) {
  const store = { reads: 0 };
  const results = {
    byCommand: async () => {
      store.reads++;
      return stored;
    },
    byCorrelation: async () => {
      store.reads++;
      return stored;
    },
  } as unknown as ResultStore;
  return { store, results };
}

async function collect(stream: AsyncIterable<CommandResult>): Promise<CommandResult[]> {
  const out: CommandResult[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

const slowPoll = { pollMs: 60_000, timeoutMs: 30_000 };

/** An own wait for COMMAND's PROCESSED on a fresh bus over an empty counting store. */
function ownWait(options: { timeoutMs: number; pollMs?: number; signal?: AbortSignal } = slowPoll) {
  const bus = new ResultBus();
  const { store, results } = countingStore();
  const stream = waitForResults({ bus, results }, COMMAND, { target: { stage: "PROCESSED" }, own: true, ...options });
  return { bus, store, stream };
}

describe("a wait's live results", () => {
  it("an own wait sees results published before it is first read, and reads nothing from the store", async () => {
    const { bus, store, stream } = ownWait();
    // Published before anyone reads the stream (the group commit publishes SENT and PROCESSED
    // before the sender gets the stream back).
    const sent = result("SENT");
    const processed = result("PROCESSED");
    bus.publish([sent, processed]);
    expect(await collect(stream)).toEqual([sent, processed]);
    expect(store.reads).toBe(0);
    expect(bus.listenerCount).toBe(0);
  });

  it("a wait on a command sent earlier reads the store first", async () => {
    const bus = new ResultBus();
    const sent = result("SENT");
    const processed = result("PROCESSED");
    const { store, results } = countingStore([sent, processed]);
    const stream = waitForResults({ bus, results }, COMMAND, { target: { stage: "PROCESSED" }, ...slowPoll });
    expect(await collect(stream)).toEqual([sent, processed]);
    expect(store.reads).toBe(1);
  });

  it("a waiter that does not read holds up no other waiter", async () => {
    const bus = new ResultBus();
    const { results } = countingStore();
    const target = { stage: "PROCESSED" as const };
    const stalled = waitForResults({ bus, results }, COMMAND, { target, own: true, ...slowPoll });
    const reading = waitForResults({ bus, results }, COMMAND, { target, own: true, ...slowPoll });
    const other = waitForResults({ bus, results }, "other", { target, own: true, ...slowPoll });
    const answers = collect(reading);
    const otherAnswers = collect(other);
    const mine = [result("SENT"), result("PROCESSED")];
    const theirs = [result("SENT", "other"), result("PROCESSED", "other")];
    bus.publish([mine[0]!, theirs[0]!, mine[1]!, theirs[1]!]);
    // Both finish while `stalled` has not read a single result.
    expect(await answers).toEqual(mine);
    expect(await otherAnswers).toEqual(theirs);
    // The stalled waiter lost nothing meanwhile.
    expect(await collect(stalled)).toEqual(mine);
  });

  it("the timeout counts from the first read: what was published before it is seen", async () => {
    const { bus, stream } = ownWait({ timeoutMs: 1 });
    const sent = result("SENT");
    bus.publish([sent]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const seen = await collect(stream);
    expect(seen[0]).toEqual(sent);
    expect(seen.at(-1)).toMatchObject({ errorCode: CoreCode.WAIT_TIMEOUT, stage: "PROCESSED" });
    expect(seen.at(-1)!.errorMsg).toMatch(/SENT/);
    expect(bus.listenerCount).toBe(0);
  });

  it("a wait returned before its first read lets go of the bus at once", async () => {
    const { bus, stream } = ownWait();
    await stream.return(undefined);
    expect(bus.listenerCount).toBe(0);
  });

  it("a timed-out wait ends with a CoreCode.WAIT_TIMEOUT result after what it saw", async () => {
    const { bus, stream } = ownWait({ timeoutMs: 50 });
    const sent = result("SENT");
    bus.publish([sent]);
    const seen = await collect(stream);
    expect(seen[0]).toEqual(sent);
    expect(seen.at(-1)).toMatchObject({ errorCode: CoreCode.WAIT_TIMEOUT, succeeded: false, stage: "PROCESSED" });
    expect(bus.listenerCount).toBe(0);
  });

  it("an aborted wait ends quietly and lets go of the bus", async () => {
    const abort = new AbortController();
    const { bus, stream } = ownWait({ signal: abort.signal, ...slowPoll });
    const seen = collect(stream);
    bus.publish([result("SENT")]);
    abort.abort();
    expect((await seen).map((r) => r.stage)).toEqual(["SENT"]);
    expect(bus.listenerCount).toBe(0);
  });
});
