import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { VersionConflict } from "../../src/core/errors.ts";
import {
  type EventMetadata,
  LOG_START,
  type LogCheckpoint,
  type RecordedEvent,
  type StreamKey,
} from "../../src/core/messages.ts";
import { EventLog } from "../../src/store/event-log.ts";
import { engines, openTestDatabase, type TestDatabase } from "../support/databases.ts";

let counter = 0;
const stream = (tenantId = "t1"): StreamKey => ({
  tenantId,
  aggregateName: "Account",
  aggregateId: `acc-${++counter}`,
});
const meta = (n = ++counter): EventMetadata => {
  const id = `00000000-0000-7000-8000-${n.toString().padStart(12, "0")}`;
  return { commandId: id, requestId: `req-${n}`, correlationId: id, causationId: id };
};

/** Reads the whole log the way a runner does: batch after batch from the last checkpoint. */
/**
 * Reads the log to its end. The xmin horizon is cluster-wide: a transaction another test file
 * holds open on the shared server hides events that are committed already, so an empty read does
 * not mean the end. Unless `untilEmpty` (a test that expects nothing readable while its own
 * transaction is open), it goes on until no event lies past the checkpoint, for up to 60 s.
 */
async function drain(log: EventLog, from: LogCheckpoint = LOG_START, batch = 3, untilEmpty = false) {
  const seen: RecordedEvent[] = [];
  let checkpoint = from;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const result = await log.readAll(checkpoint, batch);
    if (result.events.length === 0) {
      if (untilEmpty || !(await log.hasEventsAfter(checkpoint)) || Date.now() > deadline) return { seen, checkpoint };
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    seen.push(...result.events);
    checkpoint = result.checkpoint;
  }
}

describe.each(engines)("event log on %s", (engine) => {
  let db: TestDatabase;
  let log: EventLog;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    log = new EventLog(db.sql);
  });
  afterAll(async () => {
    await db?.close();
  });

  it("appends atomically with versions from the expected one and reads the stream back", async () => {
    const s = stream();
    const m = meta();
    const first = await log.append(
      s,
      0,
      [
        { type: "Created", data: { name: "Ada" } },
        { type: "Deposited", data: { amount: 5 } },
      ],
      m,
    );
    expect(first.map((e) => e.version)).toEqual([1, 2]);
    expect(first[0]?.position).toBeTypeOf("bigint");
    expect(first[1]!.position).toBeGreaterThan(first[0]!.position);
    expect(first[0]).toMatchObject({ ...s, ...m, type: "Created", schemaVersion: 1, data: { name: "Ada" } });

    await log.append(s, 2, [{ type: "Withdrawn", data: { amount: 2 }, schemaVersion: 2 }], meta());
    const all = await log.readStream(s);
    expect(all.map((e) => [e.version, e.type, e.schemaVersion])).toEqual([
      [1, "Created", 1],
      [2, "Deposited", 1],
      [3, "Withdrawn", 2],
    ]);
    expect((await log.readStream(s, 1)).map((e) => e.version)).toEqual([2, 3]);
    expect((await log.readStream(s, 0, 2)).map((e) => e.version)).toEqual([1, 2]);
    expect(await log.streamVersion(s)).toBe(3);
  });

  it("keeps tenants apart: the same aggregate ID in two tenants is two streams", async () => {
    const a = stream("tenant-a");
    const b = { ...a, tenantId: "tenant-b" };
    await log.append(a, 0, [{ type: "Created", data: {} }], meta());
    await log.append(b, 0, [{ type: "Created", data: {} }], meta());
    expect(await log.readStream(a)).toHaveLength(1);
    expect(await log.readStream(b)).toHaveLength(1);
  });

  it("refuses a stale or a too-high expected version with a typed VersionConflict and stores nothing", async () => {
    const s = stream();
    await log.append(s, 0, [{ type: "Created", data: {} }], meta());
    for (const expected of [0, 5]) {
      const error = await log
        .append(
          s,
          expected,
          [
            { type: "X", data: {} },
            { type: "Y", data: {} },
          ],
          meta(),
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VersionConflict);
      expect((error as VersionConflict).code).toBe("VERSION_CONFLICT");
      expect((error as VersionConflict).actualVersion).toBe(1);
    }
    expect(await log.readStream(s)).toHaveLength(1);
  });

  it("20 concurrent appenders on one stream end with a gap-free 1..N sequence and no lost event", async () => {
    const s = stream();
    let conflicts = 0;
    // All appenders read the version before any appends, so they race for certain rather than
    // when the scheduling happens to interleave them: at least 19 of the first appends conflict.
    let yetToRead = 20;
    let allRead!: () => void;
    const firstReadsDone = new Promise<void>((resolve) => {
      allRead = resolve;
    });
    const appender = async (i: number) => {
      for (let attempt = 0; ; attempt++) {
        const version = await log.streamVersion(s);
        if (attempt === 0) {
          if (--yetToRead === 0) allRead();
          await firstReadsDone;
        }
        try {
          await log.append(s, version, [{ type: "Deposited", data: { by: i } }], meta());
          return;
        } catch (error) {
          if (!(error instanceof VersionConflict)) throw error;
          conflicts++;
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => appender(i)));
    const events = await log.readStream(s);
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(events.map((e) => (e.data as { by: number }).by).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(conflicts).toBeGreaterThanOrEqual(19);
  });

  it("readAll returns every committed event once, in batches, and stops at the head", async () => {
    const before = await drain(log);
    const s = stream();
    await log.append(
      s,
      0,
      [1, 2, 3, 4, 5].map((n) => ({ type: "N", data: { n } })),
      meta(),
    );
    // Transactions elsewhere on the server (other test files) can hold the horizon back a while,
    // so `before` may stop short of older events too: look at this stream's.
    await vi.waitFor(
      async () => {
        const after = await drain(log, before.checkpoint, 2);
        const ours = after.seen.filter((e) => e.aggregateId === s.aggregateId);
        expect(ours.map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3, 4, 5]);
        expect((await log.readAll(after.checkpoint, 10)).events).toEqual([]);
      },
      { timeout: 30_000, interval: 50 },
    );
  });
});

describe("event log on postgres: transactions that commit out of position order", () => {
  let db: TestDatabase;
  let log: EventLog;
  beforeAll(async () => {
    db = await openTestDatabase("postgres");
    log = new EventLog(db.sql);
  });
  afterAll(async () => {
    await db?.close();
  });

  it("never delivers position n+1 before n while n's transaction is open, and never skips n", async () => {
    const start = (await drain(log)).checkpoint;
    const s1 = stream();
    const s2 = stream();

    let releaseA!: () => void;
    const aMayCommit = new Promise<void>((resolve) => {
      releaseA = resolve;
    });
    let aAppended!: (events: RecordedEvent[]) => void;
    const aHasPosition = new Promise<RecordedEvent[]>((resolve) => {
      aAppended = resolve;
    });
    // Transaction A takes position n and stays open.
    const transactionA = db.sql.transaction(async (tx) => {
      const events = await log.append(s1, 0, [{ type: "A", data: {} }], meta(), tx);
      aAppended(events);
      await aMayCommit;
    });
    const [a] = await aHasPosition;
    // B takes n+1 and commits first.
    const [b] = await log.append(s2, 0, [{ type: "B", data: {} }], meta());
    expect(b!.position).toBeGreaterThan(a!.position);

    const whileOpen = await drain(log, start, 3, true);
    expect(whileOpen.seen.map((e) => e.type)).toEqual([]);

    releaseA();
    await transactionA;
    const afterCommit = await drain(log, whileOpen.checkpoint);
    expect(afterCommit.seen.map((e) => e.type)).toEqual(["A", "B"]);
  });

  it("a reader that checkpoints while writers race never misses an event", async () => {
    const start = (await drain(log)).checkpoint;
    const writers = Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 15; i++) {
        await db.sql.transaction(async (tx) => {
          await log.append(stream(), 0, [{ type: "W", data: {} }], meta(), tx);
          // Hold some transactions open a little, so commits interleave out of position order.
          if (Math.random() < 0.3) await new Promise((r) => setTimeout(r, Math.random() * 15));
        });
      }
    });
    const seen = new Set<bigint>();
    let checkpoint = start;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const result = await log.readAll(checkpoint, 7);
        for (const e of result.events) {
          expect(seen.has(e.position)).toBe(false);
          seen.add(e.position);
        }
        checkpoint = result.checkpoint;
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    await Promise.all(writers);
    writing = false;
    await reader;
    const rest = await drain(log, checkpoint);
    for (const e of rest.seen) seen.add(e.position);
    const all = await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE position > $1", [
      start.position.toString(),
    ]);
    expect(seen.size).toBe(all[0]?.n);
    expect(seen.size).toBe(120);
  });
});
