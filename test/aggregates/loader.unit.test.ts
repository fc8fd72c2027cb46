/**
 * The one aggregate loader, on an in-memory stream and snapshot: whatever usable snapshot it
 * starts from and wherever it stops, its state equals a replay of the log's prefix; a snapshot of
 * another state shape, or past the version asked for, is never used. Pure (fakes of the two
 * reads it makes); the stores themselves are covered by the integration tests that load through
 * it (test/graphql/history-api.test.ts, test/runners/runners.test.ts).
 *
 * Catches: using a snapshot newer than `toVersion` (time travel would show later events), using
 * one of an older `snapshotVersion`, or a version that is not the last folded event's.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AggregateLoader, type AggregateLoaderDeps } from "../../src/aggregates/loader.ts";
import { defineAggregate, replay } from "../../src/core/aggregate.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import type { Snapshot } from "../../src/store/snapshot-store.ts";

type Added = { type: "Added"; data: { amount: number } };
const Counter = defineAggregate({
  name: "Counter",
  commands: { Noop: { input: z.object({}) } },
  eventTypes: ["Added"] as Added["type"][],
  initialState: () => ({ total: 0, count: 0 }),
  decide: (): Added[] => [],
  evolve: (state: { total: number; count: number }, event: Added) => ({
    total: state.total + event.data.amount,
    count: state.count + 1,
  }),
  snapshotVersion: 2,
});

const stream = { tenantId: "t", aggregateName: "Counter", aggregateId: "c" };

const recorded = (amounts: readonly number[]): RecordedEvent[] =>
  amounts.map((amount, i) => ({
    ...stream,
    type: "Added",
    data: { amount },
    schemaVersion: 1,
    version: i + 1,
    position: BigInt(i + 1),
    commandId: `cmd-${i}`,
    requestId: `req-${i}`,
    correlationId: `cmd-${i}`,
    causationId: "test",
    createdAt: new Date(1_000 * (i + 1)),
  })) as RecordedEvent[];

/** A loader over `events` and one stored snapshot, counting the events it reads. */
function loaderOver(events: readonly RecordedEvent[], snapshot: Snapshot | undefined) {
  const reads = { events: 0 };
  const deps: AggregateLoaderDeps = {
    snapshots: { load: async () => snapshot },
    events: {
      readStream: async (_stream, after = 0, to) => {
        const read = events.filter((e) => e.version > after && (to === undefined || e.version <= to));
        reads.events += read.length;
        return read;
      },
    },
  };
  return { loader: new AggregateLoader(deps), reads };
}

const snapshotAt = (
  events: readonly RecordedEvent[],
  version: number,
  state = replay(Counter, events.slice(0, version)),
) => ({
  version,
  stateVersion: 2,
  state,
  position: BigInt(version),
});

describe("AggregateLoader", () => {
  it("with no events: the initial state at version 0, no last event", async () => {
    const { loader } = loaderOver([], undefined);
    const loaded = await loader.load(Counter, stream);
    expect(loaded).toEqual({ state: { total: 0, count: 0 }, version: 0 });
  });

  it("starts from a usable snapshot and reads only the events after it", async () => {
    const events = recorded([1, 2, 3, 4]);
    // A marker state: only a loader that trusts the snapshot shows it.
    const { loader, reads } = loaderOver(events, snapshotAt(events, 2, { total: 100, count: 2 }));
    const loaded = await loader.load(Counter, stream);
    expect(loaded).toMatchObject({ state: { total: 107, count: 4 }, version: 4, last: events[3] });
    expect(reads.events).toBe(2);
  });

  it("ignores a snapshot of another state shape (snapshotVersion)", async () => {
    const events = recorded([1, 2, 3]);
    const stale = { ...snapshotAt(events, 2, { total: 100, count: 2 }), stateVersion: 1 };
    const { loader } = loaderOver(events, stale);
    expect(await loader.load(Counter, stream)).toMatchObject({ state: { total: 6, count: 3 }, version: 3 });
  });

  it("stops at toVersion, ignoring a snapshot past it", async () => {
    const events = recorded([1, 2, 3, 4]);
    const { loader } = loaderOver(events, snapshotAt(events, 3, { total: 100, count: 3 }));
    expect(await loader.load(Counter, stream, { toVersion: 2 })).toMatchObject({
      state: { total: 3, count: 2 },
      version: 2,
      last: events[1],
    });
  });

  it("at the snapshot's own version reads no event: the version is the snapshot's, no last event", async () => {
    const events = recorded([1, 2, 3]);
    const { loader, reads } = loaderOver(events, snapshotAt(events, 2, { total: 100, count: 2 }));
    const loaded = await loader.load(Counter, stream, { toVersion: 2 });
    expect(loaded).toEqual({ state: { total: 100, count: 2 }, version: 2 });
    expect(reads.events).toBe(0);
  });

  it("equals a replay of the log's prefix, from any correct snapshot, up to any version", async () => {
    const case_ = fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 12 }).chain((amounts) =>
      fc.record({
        amounts: fc.constant(amounts),
        snapshot: fc.option(fc.integer({ min: 0, max: amounts.length }), { nil: undefined }),
        toVersion: fc.option(fc.integer({ min: 0, max: amounts.length }), { nil: undefined }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(case_, async ({ amounts, snapshot, toVersion }) => {
        const events = recorded(amounts);
        const { loader } = loaderOver(events, snapshot === undefined ? undefined : snapshotAt(events, snapshot));
        const loaded = await loader.load(Counter, stream, { toVersion });
        const end = toVersion ?? events.length;
        expect(loaded.state).toEqual(replay(Counter, events.slice(0, end)));
        expect(loaded.version).toBe(end);
      }),
    );
  });
});
