/**
 * `stageline export` / `stageline import`: the event log as NDJSON, a backup that round-trips.
 * Export writes a header line, then every finished event in reading order with its position and
 * IDs. Import refuses a database that already holds events, checks every line, and stores all
 * of it in one transaction or nothing. Projections and snapshots then rebuild from the log as
 * their runners catch up; sagas and event handlers are set to start after the imported events,
 * so the side effects and commands the log already records are not sent again.
 */
import { createInterface } from "node:readline";
import { z } from "zod";
import { LOG_START, type LogCheckpoint } from "../../core/messages.ts";
import type { Registry } from "../../core/registry.ts";
import type { ExportedEvent, OpsQueries } from "../../store/ops-queries.ts";
import type { SqlClient } from "../../store/sql.ts";
import { ImportInvalid, ImportTargetNotEmpty } from "../errors.ts";

/**
 * Version 2 names each event's payload `data`, as everywhere else; version 1 (files written
 * before the payload had one name) said `body`, and is still read.
 */
export const EXPORT_HEADER = { stageline: "event-log", version: 2 } as const;
const READABLE_VERSIONS: readonly number[] = [1, EXPORT_HEADER.version];

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
const eventFields = {
  position: z.string().regex(/^[1-9]\d{0,18}$/),
  tenantId: z.string().min(1),
  aggregateName: z.string().min(1),
  aggregateId: z.string().min(1),
  version: z.number().int().min(1),
  type: z.string().min(1),
  schemaVersion: z.number().int().min(1),
  commandId: uuid,
  requestId: z.string().min(1),
  correlationId: uuid,
  causationId: z.string(),
  createdAt: z.iso.datetime({ offset: true }),
};
const eventLine = z.strictObject({ ...eventFields, data: z.unknown() });
const eventLineV1 = z
  .strictObject({ ...eventFields, body: z.unknown() })
  .transform(({ body, ...rest }) => ({ ...rest, data: body }));

export type TransferProgress = (done: number) => void;

/** Writes the log to `write` (one line per call); returns how many events were written. */
export async function exportLog(
  queries: OpsQueries,
  write: (line: string) => Promise<void> | void,
  progress?: TransferProgress,
): Promise<number> {
  await write(JSON.stringify(EXPORT_HEADER));
  let after: LogCheckpoint = LOG_START;
  let written = 0;
  for (;;) {
    const page = await queries.exportPage(after, 1_000);
    for (const event of page.events) await write(JSON.stringify(event));
    written += page.events.length;
    progress?.(written);
    if (!page.next) return written;
    after = page.next;
  }
}

export interface ImportReport {
  events: number;
  /** Sagas and event handlers set to start after the imported events. */
  skippedProcessors: string[];
}

export async function importLog(
  sql: SqlClient,
  queries: OpsQueries,
  registry: Registry,
  input: NodeJS.ReadableStream,
  progress?: TransferProgress,
): Promise<ImportReport> {
  if (await queries.hasEvents()) {
    throw new ImportTargetNotEmpty("The database already holds events; import only into an empty database");
  }
  const skipped = registry.processors
    .filter((p) => p.processor.kind === "SAGA" || p.processor.kind === "EVENT_HANDLER")
    .map((p) => p.id);
  return sql.transaction(async (tx) => {
    // Created right before it is iterated: readline drops the lines it reads before that.
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    let lineNumber = 0;
    let events = 0;
    let chunk: ExportedEvent[] = [];
    let schema: typeof eventLine | typeof eventLineV1 = eventLine;
    const flush = async () => {
      try {
        await queries.importEvents(tx, chunk);
      } catch (error) {
        // A repeated position or stream version, a body the column refuses: the file is not one log.
        throw new ImportInvalid(`Events up to line ${lineNumber} do not fit together: ${(error as Error).message}`);
      }
      events += chunk.length;
      chunk = [];
      progress?.(events);
    };
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new ImportInvalid(`Line ${lineNumber} is not JSON`);
      }
      if (lineNumber === 1) {
        const header = value as { stageline?: unknown; version?: unknown } | null;
        if (header?.stageline !== EXPORT_HEADER.stageline || !READABLE_VERSIONS.includes(header.version as number)) {
          throw new ImportInvalid(`Line 1 is not a Stageline export header (${JSON.stringify(EXPORT_HEADER)})`);
        }
        schema = header.version === 1 ? eventLineV1 : eventLine;
        continue;
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        const problem = parsed.error.issues[0];
        throw new ImportInvalid(`Line ${lineNumber}: ${problem?.path.join(".") || "(event)"}: ${problem?.message}`);
      }
      chunk.push(parsed.data as ExportedEvent);
      if (chunk.length >= 500) await flush();
    }
    if (lineNumber === 0) throw new ImportInvalid("The input is empty");
    await flush();
    try {
      await queries.finishImport(tx, skipped);
    } catch (error) {
      throw new ImportInvalid(`The events do not fit together: ${(error as Error).message}`);
    }
    return { events, skippedProcessors: skipped };
  });
}
