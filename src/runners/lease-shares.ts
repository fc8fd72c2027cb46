/**
 * How many runner leases each live process aims to hold: a balanced split, so that no process
 * is left with none while others hold more than one (`ceil(P / N)` for everyone left 4
 * processors over 3 processes at 2, 2 and 0). Each process targets floor(P / N), and the first
 * P mod N processes in the order of their owner names one more: every process computes the same
 * split from the same list, the targets add up to exactly P, and while membership is stable
 * nothing moves. When a process joins no other target grows, and when one leaves no target
 * shrinks, so a change of membership moves only the leases it has to.
 */

/** The target of the process at `rank` (0-based) among `live` processes sharing `processors`. */
export function leaseTarget(processors: number, live: number, rank: number): number {
  if (live <= 0 || rank < 0 || rank >= live) throw new RangeError(`rank ${rank} is not among ${live} processes`);
  return Math.floor(processors / live) + (rank < processors % live ? 1 : 0);
}

/**
 * `owner`'s target among the live owners (itself included): ranked by plain code-unit order of
 * the names, which every process computes alike whatever its locale.
 */
export function leaseTargetOf(processors: number, liveOwners: readonly string[], owner: string): number {
  const owners = [...new Set([...liveOwners, owner])].sort(byCodeUnits);
  return leaseTarget(processors, owners.length, owners.indexOf(owner));
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
