/**
 * A lease holder stalled past its time to live (SIGSTOP of a real child process, with a batch
 * in hand: its event handler had done its side effect and not yet returned), then woken
 * (SIGCONT): meanwhile the other process took the lease over (a new epoch) and handled that
 * batch and everything after; the woken one is fenced and applies nothing: no side effect after
 * waking for anything the other process handled, no read model change twice (the balance is the
 * sum of the deposits), and it says it lost the lease. It may then take its share back, at a
 * new epoch. PostgreSQL only: on PGlite there is one process by nature.
 */
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { LeaseStore } from "../../src/store/lease-store.ts";
import { CREATE_ACCOUNT, DEPOSIT } from "../support/app.ts";
import { waitUntil } from "../support/eventually.ts";
import { type Child, pidOf, post, stopChild } from "./support/children.ts";
import { holderOf, untilEachHoldsALease, untilTakenOver } from "./support/lease-waits.ts";
import { useProbeSuite } from "./support/probe-suite.ts";

const RECORDER = "probe.Recorder";
/** support/instance.ts stalls its recorder on a deposit of this amount. */
const STALL_AMOUNT = 99;
const TTL_MS = 1_500;

describe("SIGSTOP of a lease holder past its time to live, then SIGCONT (PostgreSQL)", () => {
  const { probe, children, spawn } = useProbeSuite();

  const effectsOf = async (pid: number) =>
    (
      await probe.db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM handler_effects WHERE pid = $1", [pid])
    )[0]!.n;
  const handledPositions = async () =>
    (
      await probe.db.sql.query<{ position: string }>("SELECT DISTINCT position::text AS position FROM handler_effects")
    ).map((r) => r.position);
  const unhandled = async () =>
    (
      await probe.db.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events e WHERE e.type = 'MoneyDeposited'
          AND NOT EXISTS (SELECT 1 FROM handler_effects h WHERE h.position = e.position)`,
      )
    )[0]!.n;

  it("the woken holder is fenced and applies nothing; the other process took over", { timeout: 180_000 }, async () => {
    for (let i = 0; i < 2; i++) await spawn({ ttlMs: TTL_MS, logLevel: "warn" });
    const [a, b] = children as [Child, Child];
    const leases = new LeaseStore(probe.db.sql);
    await untilEachHoldsALease(leases, [a, b]);
    const deposit = (via: Child, amount: number) =>
      post(via, DEPOSIT, { amount, command: { aggregateId: "s", waitFor: { stage: "PROCESSED" } } });
    expect(
      await post(a, CREATE_ACCOUNT, {
        name: "s",
        initialBalance: 0,
        command: { aggregateId: "s", waitFor: { stage: "PROCESSED" } },
      }),
    ).toBe(true);
    for (let i = 0; i < 3; i++) expect(await deposit(a, 1)).toBe(true);
    await waitUntil("the first deposits handled", async () => (await unhandled()) === 0, { timeoutMs: 60_000 });

    const holder = await holderOf(leases, RECORDER);
    const victim = children.find((c) => c.pid === pidOf(holder.owner))!;
    const survivor = children.find((c) => c !== victim)!;

    // The victim's recorder says when it holds the stalling event in hand: stop it right there.
    const stalled = new Promise<string>((resolve) => {
      victim.child.on("message", (message: { stalled?: string }) => {
        if (message.stalled) {
          victim.child.kill("SIGSTOP");
          resolve(message.stalled);
        }
      });
    });
    expect(await deposit(survivor, STALL_AMOUNT)).toBe(true);
    const stalledAt = await stalled;
    const victimEffects = await effectsOf(victim.pid);

    await untilTakenOver(leases, RECORDER, survivor, holder);
    for (let i = 0; i < 5; i++) expect(await deposit(survivor, 1)).toBe(true);
    await waitUntil(
      "the survivor handles the stalled batch and the later deposits",
      async () => (await unhandled()) === 0,
      {
        timeoutMs: 60_000,
      },
    );
    const handledWhileStopped = await handledPositions();
    expect(handledWhileStopped).toContain(stalledAt);

    victim.child.kill("SIGCONT");
    await waitUntil(
      "the woken process says its lease is gone",
      () => victim.lines.some((l) => l.includes(RECORDER) && /runner fenced|runner lease lost/.test(l)),
      { timeoutMs: 60_000 },
    );
    // It lives on and rejoins: it takes its share back at new epochs, never its old one.
    await waitUntil(
      "the woken process holds leases again",
      async () => (await leases.holders()).some((h) => h.live && pidOf(h.owner) === victim.pid),
      { timeoutMs: 60_000 },
    );
    for (let i = 0; i < 5; i++) expect(await deposit(victim, 1)).toBe(true);
    await waitUntil("every deposit handled", async () => (await unhandled()) === 0, { timeoutMs: 60_000 });

    // Nothing the survivor handled was handled again by the woken process.
    const again = await probe.db.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM handler_effects WHERE pid = $1 AND position = ANY($2::bigint[])",
      [victim.pid, handledWhileStopped],
    );
    expect(again[0]!.n).toBe(victimEffects);
    // Only the stalled event was handled twice (by the stopped holder, then by its successor).
    const twice = await probe.db.sql.query<{ position: string }>(
      "SELECT position::text AS position FROM handler_effects GROUP BY position HAVING count(*) > 1",
    );
    expect(twice.map((r) => r.position)).toEqual([stalledAt]);
    // The projection applied each deposit once (3 + 99 + 5 + 5).
    await waitUntil(
      "the balance projected",
      async () => {
        const rows = await probe.db.sql.query<{ balance: number }>("SELECT balance FROM account_views WHERE id = 's'");
        return rows[0]?.balance === 3 + STALL_AMOUNT + 10;
      },
      { timeoutMs: 60_000 },
    );
    for (const c of children) await stopChild(c);
    expect(children.every((c) => !c.alive())).toBe(true);
    await Promise.all(children.filter((c) => c.alive()).map((c) => once(c.child, "exit")));
  });
});
