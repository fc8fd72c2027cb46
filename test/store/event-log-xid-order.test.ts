/**
 * readAll must order and checkpoint by (transaction, position), not by position alone. The
 * racing writers of the other event-log tests append as their first write, so there a
 * transaction's ID is never older than its positions and position order happens to be
 * transaction order. In the app it is not: a command's transaction writes its DONE mark first
 * (its transaction ID is taken then) and appends later, so an older transaction can hold a later
 * position. These tests build exactly that, deterministically, and read it back.
 *
 * Catches (each verified by making the change in src/store/event-log.ts and seeing it fail):
 * - "commits last": readAll ordering by `events.position` instead of
 *   `events.transaction_id, events.position` — a batch of one skips the older transaction's
 *   event (it sorts before the checkpoint taken from the younger one), larger batches read an
 *   event twice.
 * - "commits first" (PostgreSQL only): readAll comparing and ordering by position alone
 *   (`position > $2 … ORDER BY position`, the checkpoint's position used as a plain offset) —
 *   the younger transaction's event, committed after the reader passed a higher position, is
 *   never read. ("commits last" fails then too: it reads the two events in position order.)
 *
 * On PostgreSQL the transactions really overlap, each on its own pooled connection. PGlite has
 * one connection: a transaction holds it until it ends, so two cannot overlap and, in real use,
 * positions there always follow transaction order. What can still be checked there is the read
 * side over the same committed state — an older transaction holding the later position — which
 * the test builds by moving the position sequence between two serial transactions. A reader
 * looking while an older transaction is still open (the "commits first" case) cannot happen on
 * one connection, so that case runs on PostgreSQL only.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LOG_START, type LogCheckpoint, type RecordedEvent } from "../../src/core/messages.ts";
import { EventLog } from "../../src/store/event-log.ts";
import { engines, openTestDatabase, type TestDatabase } from "../support/databases.ts";

const meta = (n: number) => {
  const id = `00000000-0000-7000-8000-${n.toString().padStart(12, "0")}`;
  return { commandId: id, requestId: `req-${n}`, correlationId: id, causationId: id };
};
const stream = (aggregateId: string) => ({ tenantId: "t", aggregateName: "Account", aggregateId });
const deposit = (amount: number) => [{ type: "MoneyDeposited", data: { amount } }];
const key = (e: RecordedEvent) => `${e.transactionId}/${e.position}`;

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function useDatabase(engine: (typeof engines)[number]) {
  const state = {} as { db: TestDatabase; log: EventLog };
  beforeEach(async () => {
    state.db = await openTestDatabase(engine);
    state.log = new EventLog(state.db.sql);
  });
  afterEach(async () => {
    await state.db?.close();
  });
  return state;
}

/**
 * Waits until every transaction up to `xid` is behind the server's horizon. Transactions of
 * other test files on the same server can hold it back a while; this only waits, it never
 * decides what readAll returns.
 */
async function horizonPast(db: TestDatabase, xid: bigint) {
  await vi.waitFor(
    async () => {
      const rows = await db.sql.query<{ past: boolean }>(
        "SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::text::xid8 AS past",
        [xid.toString()],
      );
      expect(rows[0]!.past).toBe(true);
    },
    { timeout: 30_000, interval: 20 },
  );
}

/** Reads from the start in batches of `batch` until nothing is left; every event returned, in order. */
async function drain(log: EventLog, batch: number, through?: LogCheckpoint) {
  const seen: RecordedEvent[] = [];
  let checkpoint = LOG_START;
  for (let reads = 0; reads < 100; reads++) {
    const result = await log.readAll(checkpoint, batch, { through });
    if (result.events.length === 0) return seen;
    seen.push(...result.events);
    checkpoint = result.checkpoint;
  }
  throw new Error(`readAll never ran dry: ${seen.map(key).join(", ")}`);
}

describe.each(engines)("an older transaction holding a later position, on %s", (engine) => {
  const state = useDatabase(engine);

  /**
   * T1 takes its transaction ID first, T2 appends and commits, then T1 appends and commits:
   * T1's event is older by transaction, later by position. Returns [T1's event, T2's event].
   */
  async function olderTransactionCommitsLast(): Promise<[RecordedEvent, RecordedEvent]> {
    const { db, log } = state;
    if (engine === "postgres") {
      const t1HasId = deferred();
      const t2Committed = deferred();
      const t1 = db.sql.transaction(async (tx) => {
        // Any first write takes the transaction ID (in the app: the command's DONE mark).
        await tx.query("SELECT pg_current_xact_id()");
        t1HasId.resolve();
        await t2Committed.promise;
        return log.append(stream("older"), 0, deposit(1), meta(1), tx);
      });
      await t1HasId.promise;
      const [younger] = await db.sql.transaction((tx) => log.append(stream("younger"), 0, deposit(2), meta(2), tx));
      // T2 is committed but T1, older, is still open: a reader must not go past T1 yet.
      expect((await log.readAll(LOG_START, 100)).events).toEqual([]);
      t2Committed.resolve();
      const [older] = await t1;
      return [older!, younger!];
    }
    // PGlite: serial transactions, the second one given the lower position.
    const [{ sequence }] = (await db.sql.query<{ sequence: string }>(
      "SELECT pg_get_serial_sequence('events', 'position') AS sequence",
    )) as [{ sequence: string }];
    const head = await log.headPosition();
    await db.sql.query("SELECT setval($1, $2)", [sequence, (head + 100n).toString()]);
    const [older] = await db.sql.transaction((tx) => log.append(stream("older"), 0, deposit(1), meta(1), tx));
    await db.sql.query("SELECT setval($1, $2)", [sequence, (head + 10n).toString()]);
    const [younger] = await db.sql.transaction((tx) => log.append(stream("younger"), 0, deposit(2), meta(2), tx));
    await db.sql.query("SELECT setval($1, $2)", [sequence, (head + 1_000n).toString()]);
    return [older!, younger!];
  }

  it("commits last: every event is read once, in (transaction, position) order, whatever the batch size", async () => {
    const [older, younger] = await olderTransactionCommitsLast();
    expect(older.transactionId).toBeLessThan(younger.transactionId);
    expect(older.position).toBeGreaterThan(younger.position);
    await horizonPast(state.db, younger.transactionId);

    const expected = [older, younger].map(key);
    for (const batch of [1, 2, 100]) expect((await drain(state.log, batch)).map(key)).toEqual(expected);
    // A projection rebuild reads up to its live runner's checkpoint the same way.
    const end = { transactionId: younger.transactionId, position: younger.position };
    for (const batch of [1, 100]) expect((await drain(state.log, batch, end)).map(key)).toEqual(expected);
  });
});

describe("an older transaction holding a later position, committed while a younger one is open, on postgres", () => {
  const state = useDatabase("postgres");

  it("commits first: the reader passes it, and still reads the younger one's lower position later", async () => {
    const { db, log } = state;
    const olderHasId = deferred();
    const youngerAppended = deferred();
    const olderCommitted = deferred();
    // The older transaction takes its ID, waits for the younger to take a position, then appends
    // (a higher position) and commits while the younger is still open.
    const olderTx = db.sql.transaction(async (tx) => {
      await tx.query("SELECT pg_current_xact_id()");
      olderHasId.resolve();
      await youngerAppended.promise;
      return log.append(stream("older"), 0, deposit(1), meta(1), tx);
    });
    await olderHasId.promise;
    const youngerTx = db.sql.transaction(async (tx) => {
      const appended = await log.append(stream("younger"), 0, deposit(2), meta(2), tx);
      youngerAppended.resolve();
      await olderCommitted.promise;
      return appended;
    });
    const [older] = await olderTx;

    // The younger transaction is open, so the horizon stops at it; once it has passed the older
    // one, a reader sees the older event alone and checkpoints past it.
    await horizonPast(db, older!.transactionId);
    const first = await log.readAll(LOG_START, 100);
    expect(first.events.map(key)).toEqual([key(older!)]);

    olderCommitted.resolve();
    const [younger] = await youngerTx;
    expect(older!.transactionId).toBeLessThan(younger!.transactionId);
    expect(older!.position).toBeGreaterThan(younger!.position);
    await horizonPast(db, younger!.transactionId);
    const second = await log.readAll(first.checkpoint, 100);
    expect(second.events.map(key)).toEqual([key(younger!)]);
    expect((await log.readAll(second.checkpoint, 100)).events).toEqual([]);
  });
});
