/**
 * The snapshot runner's batch: one read for the snapshots of all the batch's streams, the
 * batch's own events on top when they run on from the snapshot, and one read for the streams
 * they do not (a snapshot written by an older state version, or none): the saved state is the
 * state of the whole stream either way, on both engines.
 */
import { describe, expect, it } from "vitest";
import { replay } from "../../src/core/aggregate.ts";
import { Account } from "../../src/domains/banking/account.ts";
import type { SendRequest } from "../../src/gateway/gateway.ts";
import { FAST_RUNNER, useTestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

const send = (type: string, aggregateId: string, input: unknown): SendRequest => ({
  aggregateName: "Account",
  type,
  input,
  aggregateId,
  tenantId: "default",
});

describe.each(engines)("snapshot batches on %s", (engine) => {
  const t = useTestApp(engine, { runner: FAST_RUNNER });

  const snapshotOf = async (id: string) =>
    (
      await t.db.sql.query<{ version: number; state: { balance: number } }>(
        "SELECT version, state FROM snapshots WHERE aggregate_id = $1",
        [id],
      )
    )[0];
  const fromLog = async (id: string) => {
    const events = await t.app.events.readStream({ tenantId: "default", aggregateName: "Account", aggregateId: id });
    return { version: events.at(-1)?.version ?? 0, state: replay(Account, events) };
  };

  it("snapshots many streams of one batch, each equal to its whole stream's state", async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `${engine}-sb${i}`);
    await Promise.all(
      ids.map((id, i) => t.app.gateway.sendAndWait(send("CreateAccount", id, { name: id, initialBalance: i }))),
    );
    const last = await Promise.all(
      ids.map((id) => t.app.gateway.sendAndWait(send("Deposit", id, { amount: 5 }), { stage: "SNAPSHOT" })),
    );
    expect(last.every((r) => r.succeeded)).toBe(true);
    for (const id of ids) {
      const expected = await fromLog(id);
      expect(await snapshotOf(id)).toMatchObject({ version: expected.version, state: expected.state });
    }
  });

  it("builds on a usable snapshot with the batch's events, and rebuilds from the log one of another state version", async () => {
    const kept = `${engine}-sb-kept`;
    const stale = `${engine}-sb-stale`;
    for (const id of [kept, stale]) {
      await t.app.gateway.sendAndWait(send("CreateAccount", id, { name: id, initialBalance: 10 }), {
        stage: "SNAPSHOT",
      });
    }
    // Tamper with both: the usable one must be built on (proving no re-read of its stream), the
    // one of another state version must be ignored and rebuilt from the whole stream.
    await t.db.sql.query("UPDATE snapshots SET state = jsonb_set(state, '{balance}', '1000') WHERE aggregate_id = $1", [
      kept,
    ]);
    await t.db.sql.query(
      "UPDATE snapshots SET state = jsonb_set(state, '{balance}', '1000'), state_version = state_version + 7 WHERE aggregate_id = $1",
      [stale],
    );
    await Promise.all(
      [kept, stale].map((id) => t.app.gateway.sendAndWait(send("Deposit", id, { amount: 1 }), { stage: "SNAPSHOT" })),
    );
    expect(await snapshotOf(kept)).toMatchObject({ version: 2, state: { balance: 1001 } });
    expect(await snapshotOf(stale)).toMatchObject({ version: 2, state: { balance: 11 } });
  });
});
