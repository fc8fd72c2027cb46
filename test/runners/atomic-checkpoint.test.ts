/**
 * A projection's checkpoint is saved in the transaction that applied its batch, on both
 * engines: when saving the checkpoint fails (a crash, a lost connection, here a trigger that
 * refuses it once), the read-model writes of that batch are undone with it, and the retry
 * applies the batch exactly once. The projection counts events without any idempotency of its
 * own, so a second application shows.
 *
 * Catches the removal of the atomic checkpoint: saving it after the batch's transaction
 * instead of inside it (the writes commit, the save fails, the retry applies them again).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { defineContext } from "../../src/core/context.ts";
import { defineProjection } from "../../src/core/processors.ts";
import { banking } from "../../src/domains/banking/index.ts";
import type { Prisma } from "../../src/generated/prisma/client.ts";
import { accountCommand, createRunnerApp } from "../support/app.ts";
import { engines, openTestDatabase, type TestDatabase } from "../support/databases.ts";

const Counter = defineProjection<Prisma.TransactionClient>({
  name: "Counter",
  eventTypes: ["MoneyDeposited"],
  async apply(events, tx) {
    await tx.$executeRawUnsafe("UPDATE atomic_counter SET n = n + $1", events.length);
  },
});

describe.each(engines)("atomic checkpoints on %s", (engine) => {
  let db: TestDatabase;
  let app: App;

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    // The first time the Counter's checkpoint moves past a counted deposit, saving it fails
    // (a sequence, so the "once" survives the rollback of the transaction that failed).
    await db.sql.exec(`
      CREATE TABLE atomic_counter (n int NOT NULL);
      INSERT INTO atomic_counter VALUES (0);
      CREATE SEQUENCE atomic_fail_once;
      CREATE FUNCTION atomic_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.processor_name = 'atomic.Counter' AND (SELECT n FROM atomic_counter) > 0 THEN
          IF nextval('atomic_fail_once') = 1 THEN
            RAISE EXCEPTION 'injected: the checkpoint could not be saved';
          END IF;
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER atomic_fail_once BEFORE INSERT OR UPDATE ON processor_checkpoints
        FOR EACH ROW EXECUTE FUNCTION atomic_fail_once();
    `);
    app = await createRunnerApp(db, [
      banking,
      defineContext({ name: "atomic", aggregates: [], processors: [Counter] }),
    ]);
    await app.start();
  });
  afterAll(async () => {
    await app?.stop();
    await db?.close();
  });

  it("a failed checkpoint save undoes the batch's writes; the retry applies it once", async () => {
    await app.gateway.sendAndWait(accountCommand("CreateAccount", "atom", { name: "a", initialBalance: 0 }));
    const r = await app.gateway.sendAndWait(accountCommand("Deposit", "atom", { amount: 1 }), { stage: "PROJECTED" });
    expect(r).toMatchObject({ succeeded: true, errorCode: "Ok" });
    // Every projection's runner has moved past the deposit (after its retry).
    expect(await app.runners.waitForProjections(r.positions.at(-1)!, 20_000)).toBe(true);

    // The failure was injected (the sequence was drawn at least once before the save that passed)…
    const drawn = await db.sql.query<{ last_value: string | number }>("SELECT last_value FROM atomic_fail_once");
    expect(Number(drawn[0]!.last_value)).toBeGreaterThanOrEqual(2);
    // …and the deposit was counted once, not once per attempt.
    const counted = await db.sql.query<{ n: number }>("SELECT n FROM atomic_counter");
    expect(counted[0]!.n).toBe(1);
    expect(await app.runners.deadLetters.list("atomic.Counter")).toEqual([]);
  });
});
