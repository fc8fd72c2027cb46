/**
 * readAll orders by the transaction's number, not by its text: transactions 999 and 1000 must
 * come in that order ("1000" < "999" as text), else a batch ends early and its events are read
 * (and applied) twice. Also the `through` bound a projection rebuild reads with.
 */
import { beforeAll, describe, expect, it, vi } from "vitest";
import { LOG_START, type LogCheckpoint, type RecordedEvent } from "../../src/core/messages.ts";
import { EventLog } from "../../src/store/event-log.ts";
import { engines, useTestDatabase } from "../support/databases.ts";

const meta = (n: number) => {
  const id = `00000000-0000-7000-8000-${n.toString().padStart(12, "0")}`;
  return { commandId: id, requestId: `req-${n}`, correlationId: id, causationId: id };
};
const key = (e: RecordedEvent) => `${e.transactionId}/${e.position}`;

describe.each(engines)("event log order across transaction-number digits on %s", (engine) => {
  const db = useTestDatabase(engine);
  let log: EventLog;
  const appended: RecordedEvent[] = [];
  beforeAll(async () => {
    log = new EventLog(db.sql);
    const stream = { tenantId: "t", aggregateName: "Account", aggregateId: "order" };
    for (let n = 1; n <= 6; n++) {
      appended.push(...(await log.append(stream, n - 1, [{ type: "Deposited", data: { n } }], meta(n))));
      // Burn transaction numbers until the next one has one digit more than the last event's.
      if (n === 3) {
        const last = appended.at(-1)!.transactionId;
        const target = 10n ** BigInt(last.toString().length);
        for (let xid = last; xid < target; ) {
          const rows = await db.sql.query<{ xid: string }>("SELECT pg_current_xact_id()::text AS xid");
          xid = BigInt(rows[0]!.xid);
        }
      }
    }
  });

  async function drain(batch: number, through?: LogCheckpoint) {
    const seen: RecordedEvent[] = [];
    let checkpoint = LOG_START;
    for (;;) {
      const result = await log.readAll(checkpoint, batch, { through });
      if (result.events.length === 0) return seen;
      seen.push(...result.events);
      checkpoint = result.checkpoint;
    }
  }

  it("reads every event once, in (transaction, position) order, whatever the batch size", async () => {
    const digits = new Set(appended.map((e) => e.transactionId.toString().length));
    expect(digits.size).toBe(2);
    // Transactions elsewhere on the server (other test files) can hold the horizon back a while.
    for (const batch of [1, 2, 4, 100]) {
      await vi.waitFor(async () => expect((await drain(batch)).map(key)).toEqual(appended.map(key)), {
        timeout: 30_000,
        interval: 50,
      });
    }
  });

  it("reads no further than `through`", async () => {
    const bound = appended[3]!;
    const seen = await drain(2, { transactionId: bound.transactionId, position: bound.position });
    expect(seen.map(key)).toEqual(appended.slice(0, 4).map(key));
  });
});
