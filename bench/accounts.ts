/**
 * Which accounts each virtual client uses: a driver owns `count` accounts and gives loop `i` of
 * `loops` the ones whose index ≡ i (mod loops), in turn. Loops never share an aggregate (no
 * version conflicts between clients), and streams stay short (many accounts per loop).
 */
export const INITIAL_BALANCE = 1_000_000_000;

export function accountIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** The n-th account loop `loop` of `loops` acts on, and the one after it (a transfer's target). */
export function pick(ids: readonly string[], loops: number, loop: number, n: number): { id: string; next: string } {
  const own = Math.max(1, Math.floor(ids.length / loops));
  const k = n % own;
  return {
    id: ids[loop + k * loops]!,
    next: ids[loop + ((k + 1) % own) * loops]!,
  };
}
