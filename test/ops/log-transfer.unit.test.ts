/**
 * The export file's format, without a database: export writes the version 2 header and names
 * each event's payload `data`; import reads version 2 (`data`) and the version 1 files written
 * before the payload had one name (`body`), and refuses a line that mixes them up. The round
 * trip through a real database is test/ops/cli.test.ts.
 *
 * Catches: old backups no longer importable after the rename, or a payload silently dropped.
 */
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { Registry } from "../../src/core/registry.ts";
import { EXPORT_HEADER, exportLog, importLog } from "../../src/ops/cli/log-transfer.ts";
import type { ExportedEvent, OpsQueries } from "../../src/store/ops-queries.ts";
import type { SqlClient, SqlExecutor } from "../../src/store/sql.ts";

const EVENT: ExportedEvent = {
  position: "7",
  tenantId: "t",
  aggregateName: "Account",
  aggregateId: "ada",
  version: 1,
  type: "AccountCreated",
  schemaVersion: 1,
  data: { name: "Ada" },
  commandId: "00000000-0000-7000-8000-000000000001",
  requestId: "r",
  correlationId: "00000000-0000-7000-8000-000000000001",
  causationId: "00000000-0000-7000-8000-000000000001",
  createdAt: "2026-12-01T10:00:00.000Z",
};

/** Import into a fake database: collects what would be inserted. */
async function importLines(lines: unknown[]): Promise<ExportedEvent[]> {
  const inserted: ExportedEvent[] = [];
  const queries = {
    hasEvents: async () => false,
    importEvents: async (_tx: SqlExecutor, events: readonly ExportedEvent[]) => {
      inserted.push(...events);
    },
    finishImport: async () => undefined,
  } as unknown as OpsQueries;
  const sql = { transaction: (work: (tx: SqlExecutor) => Promise<unknown>) => work({} as SqlExecutor) };
  const text = `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`;
  await importLog(sql as SqlClient, queries, { processors: [] } as unknown as Registry, Readable.from([text]));
  return inserted;
}

describe("the event log's export format", () => {
  it("exports version 2, each event's payload as data", async () => {
    const queries = {
      exportPage: async () => ({ events: [EVENT], next: undefined }),
    } as unknown as OpsQueries;
    const lines: string[] = [];
    await exportLog(queries, (line) => {
      lines.push(line);
    });
    expect(lines.map((l) => JSON.parse(l))).toEqual([{ stageline: "event-log", version: 2 }, EVENT]);
    expect(EXPORT_HEADER.version).toBe(2);
  });

  it("imports version 2 files (data) and version 1 files (body) alike", async () => {
    expect(await importLines([EXPORT_HEADER, EVENT])).toEqual([EVENT]);
    const { data, ...rest } = EVENT;
    expect(
      await importLines([
        { stageline: "event-log", version: 1 },
        { ...rest, body: data },
      ]),
    ).toEqual([EVENT]);
  });

  it("refuses a payload under the other version's name, and an unknown version", async () => {
    const { data, ...rest } = EVENT;
    await expect(importLines([EXPORT_HEADER, { ...rest, body: data }])).rejects.toThrow(/Line 2/);
    await expect(importLines([{ stageline: "event-log", version: 1 }, EVENT])).rejects.toThrow(/Line 2/);
    await expect(importLines([{ stageline: "event-log", version: 3 }, EVENT])).rejects.toThrow(/Line 1/);
  });
});
