/**
 * Liveness and readiness, as orchestrators probe them. /health: the process answers. /ready:
 * the database answers, every migration this build ships is applied, and every processor's
 * checkpoint is within the configured lag of the head (and none halted in this process). A
 * probe never hangs: its reads are bounded by a timeout and a failed check says why.
 */
import type { Registry } from "../core/registry.ts";
import type { RunnerSet } from "../runners/runner-set.ts";
import { loadMigrations } from "../store/migrations.ts";
import type { OpsQueries, ProcessorLag } from "../store/ops-queries.ts";
import { singleFlight, withTimeout } from "./bounded.ts";

export interface ReadinessLimits {
  /** A processor further behind than this many events makes the process unready. */
  maxLagEvents: number;
  /** …or whose oldest unread event is older than this. */
  maxLagSeconds: number;
  /** Longest the whole check may wait for the database. */
  timeoutMs: number;
}

export interface CheckResult {
  ok: boolean;
  /** Why not, when not ok. */
  reason?: string;
}

export interface Readiness {
  ready: boolean;
  checks: {
    database: CheckResult;
    migrations: CheckResult & { pending?: string[] };
    runners: CheckResult & {
      lagging?: { processor: string; eventsBehind: number; secondsBehind: number }[];
      halted?: string[];
    };
  };
}

export interface ReadinessDeps {
  queries: OpsQueries;
  processors: Registry;
  runners: RunnerSet;
  limits: ReadinessLimits;
  /** The migrations this build expects (default: the ones shipped in prisma/migrations). */
  expectedMigrations?: readonly string[];
}

export function readinessProbe(deps: ReadinessDeps): () => Promise<Readiness> {
  const expected = deps.expectedMigrations ?? loadMigrations().map((m) => m.name);
  const read = singleFlight(async () => {
    await deps.queries.ping();
    const [applied, lag] = await Promise.all([
      deps.queries.appliedMigrations(),
      // Count one past the limit: enough to tell "over" from "at", never the whole backlog.
      deps.queries.processorLag(
        deps.processors.processors.map((p) => p.id),
        deps.limits.maxLagEvents + 1,
      ),
    ]);
    return { applied, lag };
  });
  return async () => {
    let facts: { applied: string[]; lag: ProcessorLag[] };
    try {
      facts = await withTimeout(read(), deps.limits.timeoutMs, "readiness check");
    } catch (error) {
      const reason = `database unreachable: ${(error as Error).message}`;
      return {
        ready: false,
        checks: {
          database: { ok: false, reason },
          migrations: { ok: false, reason: "not checked: database unreachable" },
          runners: { ok: false, reason: "not checked: database unreachable" },
        },
      };
    }
    const appliedSet = new Set(facts.applied);
    const pending = expected.filter((name) => !appliedSet.has(name));
    const migrations = pending.length
      ? { ok: false, reason: `${pending.length} migration(s) not applied`, pending }
      : { ok: true };
    const { maxLagEvents, maxLagSeconds } = deps.limits;
    const lagging = facts.lag
      .filter((p) => p.eventsBehind > maxLagEvents || p.secondsBehind > maxLagSeconds)
      .map((p) => ({ processor: p.processorId, eventsBehind: p.eventsBehind, secondsBehind: p.secondsBehind }));
    const halted = deps.runners.runners.filter((r) => r.state === "halted").map((r) => r.step.id);
    const runners =
      lagging.length || halted.length
        ? {
            ok: false,
            reason: [
              lagging.length
                ? `${lagging.length} processor(s) past ${maxLagEvents} events or ${maxLagSeconds} s behind`
                : "",
              halted.length ? `${halted.length} runner(s) halted on a poison event` : "",
            ]
              .filter(Boolean)
              .join("; "),
            lagging,
            halted,
          }
        : { ok: true };
    return {
      ready: migrations.ok && runners.ok,
      checks: { database: { ok: true }, migrations, runners },
    };
  };
}
