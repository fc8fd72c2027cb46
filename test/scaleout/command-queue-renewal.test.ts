/**
 * A claim renewed across processes (PostgreSQL, real processes; one process on PGlite has no one
 * to lose a claim to). Two processes run queue workers; the one that takes the head of the tape
 * `gated` (its number 1) is held in its processing (support/gated-queue-instance.ts) for several claim times to
 * live. Its claim is renewed every third of the TTL, so the other process — claiming meanwhile:
 * it takes a command of another aggregate — never takes the held command, nor the one behind it;
 * once opened, the command is processed exactly once, by its claimer, and the tape goes on in
 * order. Commands are accepted by this test's own instance, which never processes any.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { waitUntil } from "../support/eventually.ts";
import { type AcceptingOnly, openAcceptingOnly } from "./support/accepting-only.ts";
import { type Child, pidOf, spawnChild, stopChild } from "./support/children.ts";
import { append, TAPE_SQL } from "./support/tape.ts";

const CLAIM_TTL_MS = 1_000;

describe("a claim renewed while its command takes longer than the claim's time to live (PostgreSQL)", () => {
  let accepting: AcceptingOnly;
  let url: string;
  let db: AcceptingOnly["db"];
  let sender: App;
  const children: Child[] = [];
  /** Every time a process entered the gated processing: which process, which command. */
  const entered: { pid: number; commandId: string }[] = [];

  beforeAll(async () => {
    accepting = await openAcceptingOnly();
    ({ url, db, sender } = accepting);
  });
  afterAll(async () => {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await accepting?.close();
  });

  async function spawn(): Promise<Child> {
    const child = await spawnChild({
      script: "gated-queue-instance.ts",
      url,
      ttlMs: 1_500,
      logLevel: "fatal",
      env: { DATABASE_POOL_SIZE: "4", COMMAND_CLAIM_TTL_MS: String(CLAIM_TTL_MS), CROSS_PROCESS_SIGNALS: "off" },
    });
    child.child.on("message", (message: { gated?: string }) => {
      if (message.gated) entered.push({ pid: child.pid, commandId: message.gated });
    });
    children.push(child);
    return child;
  }

  const commands = (tape: string) =>
    db.sql.query<{ command_id: string; n: number; status: string; claimed_by: string | null; live: boolean }>(
      `SELECT command_id, (body->>'n')::int AS n, status, claimed_by, claimed_until > clock_timestamp() AS live
         FROM commands WHERE aggregate_name = 'Tape' AND aggregate_id = $1 ORDER BY created_at, command_id`,
      [tape],
    );
  const numbers = async (tape: string) => (await db.sql.query<{ n: number }>(TAPE_SQL, [tape])).map((r) => r.n);

  it("no other process takes the command; it is processed once, by its claimer", { timeout: 180_000 }, async () => {
    const [x, y] = [await spawn(), await spawn()];
    await sender.gateway.sendAndWait(append("gated", 1), { stage: "SENT" });
    await sender.gateway.sendAndWait(append("gated", 2), { stage: "SENT" });

    await waitUntil("a process holds the gated command", () => entered.length > 0, { timeoutMs: 60_000 });
    const holder = entered[0]!.pid === x.pid ? x : y;
    const other = holder === x ? y : x;
    const [head] = await commands("gated");
    expect(entered[0]!.commandId).toBe(head!.command_id);
    expect(pidOf(head!.claimed_by!)).toBe(holder.pid);

    // Held for three claim TTLs past the first claim's expiry, on the database's clock.
    const [{ until }] = (await db.sql.query<{ until: Date }>(
      "SELECT claimed_until + make_interval(secs => $2) AS until FROM commands WHERE command_id = $1",
      [head!.command_id, (3 * CLAIM_TTL_MS) / 1000],
    )) as [{ until: Date }];
    await waitUntil(
      "three claim TTLs gone by",
      async () =>
        (await db.sql.query<{ past: boolean }>("SELECT clock_timestamp() > $1 AS past", [until]))[0]!.past === true,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    // Without the renewal the other process would have taken the head by now (and be held too).
    expect(entered).toHaveLength(1);
    // The other process is claiming meanwhile (the holder's worker waits on its batch): it takes
    // a command of another aggregate, never the held one.
    await sender.gateway.sendAndWait(append("free", 1), { stage: "SENT" });
    await waitUntil("the free tape processed", async () => (await numbers("free")).length === 1, {
      timeoutMs: 60_000,
    });
    expect(pidOf((await commands("free"))[0]!.claimed_by!)).toBe(other.pid);

    const held = await commands("gated");
    expect(held.map((c) => c.status)).toEqual(["PENDING", "PENDING"]);
    expect(pidOf(held[0]!.claimed_by!)).toBe(holder.pid);
    // Still live: renewed, since its first claim ran out three TTLs ago.
    expect(held[0]!.live).toBe(true);
    expect(held[1]!.claimed_by).toBeNull();

    holder.child.send({ open: head!.command_id });
    await waitUntil("the gated tape processed", async () => (await numbers("gated")).length === 2, {
      timeoutMs: 60_000,
    });
    expect(await numbers("gated")).toEqual([1, 2]);
    const done = await commands("gated");
    expect(done.map((c) => c.status)).toEqual(["DONE", "DONE"]);
    expect(pidOf(done[0]!.claimed_by!)).toBe(holder.pid);
    expect(entered).toHaveLength(1);
    await stopChild(x);
    await stopChild(y);
  });
});
