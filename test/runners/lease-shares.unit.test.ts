/**
 * The balanced split of runner leases (src/runners/lease-shares.ts): the table of targets, and
 * the properties the lease loop relies on, checked over every small case: the targets add up to
 * the processors (nothing left free, nobody over, while membership is stable), nobody holds less
 * than floor(P / N) nor none when P ≥ N, a join never raises another process's target and a
 * leave never lowers one (so a change of membership moves only what it must).
 */
import { describe, expect, it } from "vitest";
import { leaseTarget, leaseTargetOf } from "../../src/runners/lease-shares.ts";

describe("lease targets", () => {
  // processors, live processes, the target of each rank in turn
  it.each([
    [4, 3, [2, 1, 1]],
    [9, 2, [5, 4]],
    [9, 3, [3, 3, 3]],
    [5, 4, [2, 1, 1, 1]],
    [2, 3, [1, 1, 0]],
    [0, 2, [0, 0]],
    [7, 1, [7]],
  ])("%i processors over %i processes: targets %j by rank", (processors, live, byRank) => {
    expect(byRank.map((_, rank) => leaseTarget(processors, live, rank))).toEqual(byRank);
  });

  it("refuses a rank outside the live processes", () => {
    expect(() => leaseTarget(4, 3, 3)).toThrow(RangeError);
    expect(() => leaseTarget(4, 0, 0)).toThrow(RangeError);
  });

  const cases = function* () {
    for (let processors = 0; processors <= 40; processors++) {
      for (let live = 1; live <= 12; live++) yield { processors, live };
    }
  };
  const targets = (processors: number, live: number) =>
    Array.from({ length: live }, (_, rank) => leaseTarget(processors, live, rank));

  it("adds up to the processors, each at floor(P/N) or one more, none without a lease when P ≥ N", () => {
    for (const { processors, live } of cases()) {
      const split = targets(processors, live);
      expect(split.reduce((a, b) => a + b, 0)).toBe(processors);
      for (const t of split) expect(t - Math.floor(processors / live)).toBeOneOf([0, 1]);
      if (processors >= live) expect(Math.min(...split)).toBeGreaterThanOrEqual(1);
    }
  });

  it("a join never raises another process's target; a leave never lowers one", () => {
    const broken: string[] = [];
    for (const { processors, live } of cases()) {
      const before = targets(processors, live);
      // The newcomer may rank anywhere: the others keep their order around it.
      for (let at = 0; at <= live; at++) {
        const after = targets(processors, live + 1).filter((_, rank) => rank !== at);
        if (after.some((t, i) => t > before[i]!)) broken.push(`P=${processors} N=${live} joined at ${at}`);
      }
      // Any one may leave.
      for (let gone = 0; live > 1 && gone < live; gone++) {
        const stay = before.filter((_, rank) => rank !== gone);
        if (targets(processors, live - 1).some((t, i) => t < stay[i]!))
          broken.push(`P=${processors} N=${live} left ${gone}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("ranks owners by name, the same in every process whatever order they were listed in", () => {
    const owners = ["host-b:2:ffff", "host-a:7:0000", "host-a:10:aaaa"];
    const seen = owners.map((owner) => leaseTargetOf(4, owners, owner));
    const reversed = owners.map((owner) => leaseTargetOf(4, [...owners].reverse(), owner));
    expect(seen).toEqual(reversed);
    // Code-unit order: "host-a:10…" < "host-a:7…" < "host-b…".
    expect(seen).toEqual([1, 1, 2]);
    // An owner missing from the list (its own beat not yet seen) counts itself in.
    expect(leaseTargetOf(4, ["host-b:2:ffff"], "host-a:7:0000")).toBe(2);
  });
});
