/**
 * A suite of child-process tests on one probe database: the database is opened before the
 * suite and dropped after it, and every child spawned through `spawn` is killed first (woken
 * from SIGSTOP, then SIGKILL), so no test leaves a process or a database behind.
 */
import { afterAll } from "vitest";
import { perSuite } from "../../support/per-suite.ts";
import { type Child, type ChildOptions, openProbeDatabase, spawnChild } from "./children.ts";

export function useProbeSuite() {
  // Registered first, so closed last: Vitest runs the after hooks in reverse order.
  const probe = perSuite(openProbeDatabase, async ({ db, drop }) => {
    await db.close();
    await drop();
  });
  const children: Child[] = [];
  afterAll(() => {
    for (const c of children) {
      if (c.alive()) {
        c.child.kill("SIGCONT");
        c.child.kill("SIGKILL");
      }
    }
  });
  const spawn = async (options: Omit<ChildOptions, "url">): Promise<Child> => {
    const child = await spawnChild({ url: probe.url, ...options });
    children.push(child);
    return child;
  };
  return { probe, children, spawn };
}
