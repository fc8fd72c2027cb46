/**
 * `stageline status`: where every processor stands (checkpoint, lag, dead letters), the head of
 * the log, the shared command queue (pending, claimed by whom, failing, given up) and the
 * migrations, as a table or as JSON for scripts.
 */
import type { Registry } from "../../core/registry.ts";
import { loadMigrations } from "../../store/migrations.ts";
import type { CommandQueueStatus, OpsQueries } from "../../store/ops-queries.ts";

export interface ProcessorStatus {
  processor: string;
  kind: string;
  checkpoint: { transactionId: string; position: string };
  eventsBehind: number;
  secondsBehind: number;
  updatedAt: string | null;
  deadLetters: number;
}

export interface StatusReport {
  database: string;
  head: { position: string; events: number };
  migrations: { applied: number; pending: string[] };
  asyncQueue: { depth: number; oldestSeconds: number };
  /** The shared command queue (src/store/command-queue.ts): `givenUp` commands wait for `stageline failed-commands`. */
  commandQueue: CommandQueueStatus;
  deadLetters: number;
  processors: ProcessorStatus[];
}

export async function collectStatus(queries: OpsQueries, registry: Registry, database: string): Promise<StatusReport> {
  const ids = registry.processors.map((p) => p.id);
  const kinds = new Map(registry.processors.map((p) => [p.id, p.processor.kind]));
  const [head, applied, lag, dead, queue, commandQueue] = await Promise.all([
    queries.head(),
    queries.appliedMigrations(),
    queries.processorLag(ids),
    queries.deadLetterCounts(),
    queries.asyncQueue(),
    queries.commandQueue(),
  ]);
  const appliedSet = new Set(applied);
  return {
    database,
    head: { position: head.position.toString(), events: head.events },
    migrations: {
      applied: applied.length,
      pending: loadMigrations()
        .map((m) => m.name)
        .filter((name) => !appliedSet.has(name)),
    },
    asyncQueue: queue,
    commandQueue: {
      ...commandQueue,
      oldestPendingSeconds: Math.round(commandQueue.oldestPendingSeconds * 1000) / 1000,
    },
    deadLetters: [...dead.values()].reduce((a, b) => a + b, 0),
    processors: lag.map((p) => ({
      processor: p.processorId,
      kind: kinds.get(p.processorId) ?? "?",
      checkpoint: { transactionId: p.checkpoint.transactionId.toString(), position: p.checkpoint.position.toString() },
      eventsBehind: p.eventsBehind,
      secondsBehind: Math.round(p.secondsBehind * 1000) / 1000,
      updatedAt: p.updatedAt ? new Date(p.updatedAt).toISOString() : null,
      deadLetters: dead.get(p.processorId) ?? 0,
    })),
  };
}

export function formatStatus(report: StatusReport): string {
  const rows = [
    ["PROCESSOR", "KIND", "POSITION", "BEHIND", "SECONDS", "DEAD", "UPDATED"],
    ...report.processors.map((p) => [
      p.processor,
      p.kind,
      p.checkpoint.position,
      String(p.eventsBehind),
      p.secondsBehind.toFixed(1),
      String(p.deadLetters),
      p.updatedAt ?? "never",
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
  return [
    `Database:    ${report.database}`,
    `Log head:    position ${report.head.position} (${report.head.events} events)`,
    `Migrations:  ${report.migrations.applied} applied${report.migrations.pending.length ? `, PENDING: ${report.migrations.pending.join(", ")}` : ""}`,
    `Async queue: ${report.asyncQueue.depth} waiting${report.asyncQueue.depth ? `, oldest ${report.asyncQueue.oldestSeconds.toFixed(1)} s` : ""}`,
    ...formatCommandQueue(report.commandQueue),
    `Dead letters: ${report.deadLetters}`,
    "",
    table,
  ].join("\n");
}

/** The command queue's lines: the totals, then each claim holder and each failing command. */
function formatCommandQueue(q: CommandQueueStatus): string[] {
  const claimed = q.claimed.reduce((n, c) => n + c.commands, 0);
  return [
    `Command queue: ${q.pending} pending${q.pending ? `, oldest ${q.oldestPendingSeconds.toFixed(1)} s` : ""}, ${claimed} claimed, ${q.failingCount} failing, ${q.givenUp} given up${q.givenUp ? " (stageline failed-commands list)" : ""}`,
    ...q.claimed.map((c) => `    claimed by ${c.holder}: ${c.commands}`),
    ...q.failing.map(
      (f) =>
        `    failing ${f.commandId} ${f.aggregate}: ${f.failures} failure(s)${f.lastError ? `, ${oneLine(f.lastError)}` : ""}`,
    ),
  ];
}

const oneLine = (text: string) => {
  const line = text.replace(/\s+/g, " ");
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
};
