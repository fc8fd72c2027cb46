/**
 * The saga batch's scheduler on its own (no database): per-key order, concurrency up to the
 * limit, and what a failure does to the items behind it. Interleavings are forced with gates
 * (promises the test resolves), never with timing.
 */
import { describe, expect, it } from "vitest";
import { type KeyedItem, Limiter, runInKeyOrder } from "../../src/runners/saga-schedule.ts";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/** Yields to the event loop until `condition` holds (fails after a generous number of turns). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

/** Items that log their start and end into `log`, waiting on `wait` between, and return their name. */
const logged =
  (log: string[]) =>
  (name: string, keys: string[], wait?: Promise<void>): Promise<KeyedItem<string>> =>
    Promise.resolve({
      keys,
      run: async () => {
        log.push(`start ${name}`);
        await wait;
        log.push(`end ${name}`);
        return name;
      },
    });

describe("runInKeyOrder", () => {
  it("runs an item only after the earlier items sharing a key; others run meanwhile", async () => {
    const log: string[] = [];
    const first = gate();
    const item = logged(log);
    const done = runInKeyOrder(
      [item("a", ["x"], first.opened), item("b", ["y", "x"]), item("c", ["z"]), item("d", ["y"])],
      new Limiter(8),
    );
    // c shares nothing with a; b waits for a (x), d for b (y).
    await until(() => log.includes("end c"));
    expect(log).not.toContain("start b");
    expect(log).not.toContain("start d");
    first.open();
    expect(await done).toEqual(["a", "b", "c", "d"]);
    expect(log.indexOf("end a")).toBeLessThan(log.indexOf("start b"));
    expect(log.indexOf("end b")).toBeLessThan(log.indexOf("start d"));
  });

  it("never runs more than the limit at once", async () => {
    let running = 0;
    let most = 0;
    const gates = Array.from({ length: 6 }, gate);
    const items = gates.map((g, i) =>
      Promise.resolve({
        keys: [`k${i}`],
        run: async () => {
          running++;
          most = Math.max(most, running);
          await g.opened;
          running--;
        },
      }),
    );
    const done = runInKeyOrder(items, new Limiter(2));
    await until(() => running === 2);
    for (const g of gates) g.open();
    await done;
    expect(most).toBe(2);
  });

  it("a failure skips the items behind it on its keys, lets the others finish, then rejects", async () => {
    const ran: string[] = [];
    const item = (name: string, keys: string[], fail = false) =>
      Promise.resolve({
        keys,
        run: async () => {
          ran.push(name);
          if (fail) throw new Error(`${name} failed`);
        },
      });
    await expect(
      runInKeyOrder([item("a", ["x"], true), item("b", ["x"]), item("c", ["y"])], new Limiter(4)),
    ).rejects.toThrow("a failed");
    expect(ran.sort()).toEqual(["a", "c"]);
  });

  it("a failure while preparing an item stops scheduling later ones, after the started ones settle", async () => {
    const ran: string[] = [];
    const release = gate();
    const items: Promise<KeyedItem<void>>[] = [
      Promise.resolve({
        keys: ["x"],
        run: async () => {
          await release.opened;
          ran.push("a");
        },
      }),
      Promise.reject(new Error("react threw")),
      Promise.resolve({ keys: ["y"], run: async () => void ran.push("c") }),
    ];
    const done = runInKeyOrder(items, new Limiter(4));
    let settled = false;
    void done.catch(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false); // a is still running
    release.open();
    await expect(done).rejects.toThrow("react threw");
    expect(ran).toEqual(["a"]);
  });

  it("with shared tails, a later batch's item on a key waits for the earlier batch's; its other items run, and the map empties", async () => {
    const tails = new Map<string, Promise<unknown>>();
    const log: string[] = [];
    const first = gate();
    const item = logged(log);
    const earlier = runInKeyOrder([item("a", ["x"], first.opened)], new Limiter(8), tails);
    const later = runInKeyOrder([item("b", ["x"]), item("c", ["y"])], new Limiter(8), tails);
    await until(() => log.includes("end c"));
    expect(log).not.toContain("start b");
    first.open();
    expect(await earlier).toEqual(["a"]);
    expect(await later).toEqual(["b", "c"]);
    expect(log.indexOf("end a")).toBeLessThan(log.indexOf("start b"));
    await until(() => tails.size === 0);
  });
});
