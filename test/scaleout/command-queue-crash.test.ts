/**
 * The command queue through a crash, with real processes on one PostgreSQL (PGlite is one
 * process by nature: a dead claim there is tested in command-queue.test.ts). Process X takes the
 * head of an aggregate and gets stuck deciding it; nothing behind it moves; X is SIGKILLed and a
 * new process Y takes the head again once X's claim expires, then the rest, in order. Commands
 * are accepted by this test's own instance, which never processes any: whoever takes them is
 * another process.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { waitUntil } from "../support/eventually.ts";
import { type AcceptingOnly, openAcceptingOnly } from "./support/accepting-only.ts";
import { spawnChild } from "./support/children.ts";
import { append, TAPE_SQL } from "./support/tape.ts";

describe("a process killed with a command's claim in hand (PostgreSQL)", () => {
  let accepting: AcceptingOnly;
  let url: string;
  let db: AcceptingOnly["db"];
  let sender: App;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    accepting = await openAcceptingOnly();
    ({ url, db, sender } = accepting);
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await accepting?.close();
  });

  async function spawn(env: Record<string, string> = {}): Promise<ChildProcess> {
    const { child } = await spawnChild({
      script: "queue-instance.ts",
      url,
      ttlMs: 1_500,
      logLevel: "fatal",
      env: { DATABASE_POOL_SIZE: "4", COMMAND_CLAIM_TTL_MS: "1500", CROSS_PROCESS_SIGNALS: "off", ...env },
    });
    children.push(child);
    return child;
  }

  const commands = (tape: string) =>
    db.sql.query<{ n: number; status: string; claimed_by: string | null }>(
      `SELECT (body->>'n')::int AS n, status, claimed_by FROM commands
        WHERE aggregate_name = 'Tape' AND aggregate_id = $1 ORDER BY created_at, command_id`,
      [tape],
    );
  const numbers = async (tape: string) => (await db.sql.query<{ n: number }>(TAPE_SQL, [tape])).map((r) => r.n);
  const pidOf = (owner: string | null) => owner?.split(":")[1];

  it("the head is taken again after the crash, and the aggregate goes on in order", { timeout: 180_000 }, async () => {
    const x = await spawn({ STAGELINE_TEST_HANG: "1" });
    await sender.gateway.sendAndWait(append("k", 1, { hang: true }), { stage: "SENT" });
    for (let n = 2; n <= 6; n++) await sender.gateway.sendAndWait(append("k", n), { stage: "SENT" });
    for (let n = 1; n <= 3; n++) await sender.gateway.sendAndWait(append("o", n), { stage: "SENT" });

    await waitUntil(
      "X holds the head's claim",
      async () => pidOf((await commands("k"))[0]!.claimed_by) === String(x.pid),
      { timeoutMs: 60_000 },
    );
    // Stuck on the head: nothing behind it was taken.
    const held = await commands("k");
    expect(held.map((c) => c.status)).toEqual(Array(6).fill("PENDING"));
    expect(held.slice(1).map((c) => c.claimed_by)).toEqual(Array(5).fill(null));

    x.kill("SIGKILL");
    await once(x, "exit");
    const y = await spawn();
    await waitUntil(
      "every command processed",
      async () => (await numbers("k")).length === 6 && (await numbers("o")).length === 3,
      { timeoutMs: 60_000 },
    );
    expect(await numbers("k")).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await numbers("o")).toEqual([1, 2, 3]);
    const after = await commands("k");
    expect(after.map((c) => c.status)).toEqual(Array(6).fill("DONE"));
    expect(after.map((c) => pidOf(c.claimed_by))).toEqual(Array(6).fill(String(y.pid)));
    y.kill("SIGTERM");
    await once(y, "exit");
  });
});
