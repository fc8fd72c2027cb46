/**
 * Waiting for a condition instead of sleeping a fixed time. A fixed sleep guesses how fast the
 * machine is: too short on a slow or busy one (the test fails, or proves less than it claims),
 * needlessly long on a fast one. `waitUntil` polls until the condition holds, and past a
 * generous deadline fails with a message saying what was awaited and how far it got.
 */

export interface WaitOptions {
  /** How long before giving up; generous, since only a broken system should reach it. */
  timeoutMs: number;
  /** Pause between checks (a timer, so that other I/O and timers get their turn). */
  intervalMs?: number;
  /** What was reached so far, for the timeout message (e.g. "12 of 21 transfers acknowledged"). */
  progress?: () => string;
}

/** Resolves once `condition` returns true; rejects after `timeoutMs` naming `what` and the progress. */
export async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  { timeoutMs, intervalMs = 20, progress }: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) {
      const reached = progress ? `; reached: ${progress()}` : "";
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${reached}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
