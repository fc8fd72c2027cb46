/**
 * History and time travel, straight from the log: an aggregate's events with who caused them
 * (an audit trail, paged by version cursors), and its state at a version or at a moment,
 * replayed from its first event with the aggregate's upcasters (no snapshot, no read model).
 */
import { replay } from "../core/aggregate.ts";
import {
  AmbiguousPointInTime,
  InvalidCursor,
  InvalidPage,
  UnknownAggregate,
  VersionOutOfRange,
} from "../core/errors.ts";
import type { RecordedEvent, StreamKey } from "../core/messages.ts";
import { MAX_INT4 } from "../core/text.ts";
import type { CommandStore, StoredCommand } from "../store/command-store.ts";
import type { EventLog } from "../store/event-log.ts";
import type { Registry } from "./registry.ts";

export interface HistoryEntry {
  event: RecordedEvent;
  /** The command that caused the event, while it is retained (see RETENTION_HOURS). */
  command: StoredCommand | undefined;
}

export interface HistoryPage {
  entries: HistoryEntry[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface StateAt {
  state: unknown;
  version: number;
  /** When the last event replayed was written. */
  at: Date;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
const CURSOR_PREFIX = "v1:";

/** Opaque to clients; a version of the stream underneath. */
export const versionCursor = (version: number): string =>
  Buffer.from(`${CURSOR_PREFIX}${version}`).toString("base64url");

export function parseVersionCursor(cursor: string): number {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const version = text.startsWith(CURSOR_PREFIX) ? Number(text.slice(CURSOR_PREFIX.length)) : Number.NaN;
  // Versions are PostgreSQL integers: a larger one was never handed out (and would fail in SQL).
  if (!Number.isSafeInteger(version) || version < 0 || version > MAX_INT4 || versionCursor(version) !== cursor) {
    throw new InvalidCursor(`Cursor ${JSON.stringify(cursor)} is not one this API handed out`);
  }
  return version;
}

export class AggregateHistory {
  constructor(private readonly deps: { registry: Registry; events: EventLog; commands: CommandStore }) {}

  /**
   * A page of the aggregate's events, oldest first: `first` after `after`, or `last` before
   * `before` (default: the first 20). Commands past their retention show as absent.
   */
  async page(tenantId: string, aggregateName: string, aggregateId: string, args: PageArgs): Promise<HistoryPage> {
    const stream = this.stream(tenantId, aggregateName, aggregateId);
    const size = (n: number | null | undefined, name: string) => {
      if (n === null || n === undefined) return undefined;
      if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
        throw new InvalidPage(`${name} must be between 1 and ${MAX_PAGE_SIZE}`);
      }
      return n;
    };
    const first = size(args.first, "first");
    const last = size(args.last, "last");
    if (first !== undefined && last !== undefined) throw new InvalidPage("Give first or last, not both");
    const after = args.after ? parseVersionCursor(args.after) : 0;
    const before = args.before ? parseVersionCursor(args.before) : undefined;

    let events: RecordedEvent[];
    let hasNextPage: boolean;
    let hasPreviousPage: boolean;
    if (last !== undefined) {
      // Versions are 1..n without gaps: the last `last` before `before` start at before - last.
      const end = (before ?? (await this.deps.events.streamVersion(stream)) + 1) - 1;
      const start = Math.max(after, end - last);
      events = end > start ? await this.deps.events.readStream(stream, start, end) : [];
      hasPreviousPage = start > after;
      hasNextPage = false;
    } else {
      const limit = first ?? DEFAULT_PAGE_SIZE;
      // Never past the largest version a stream can have (the bound of the SQL parameter).
      const end = Math.min(before !== undefined ? before - 1 : Number.POSITIVE_INFINITY, after + limit + 1, MAX_INT4);
      const read = end > after ? await this.deps.events.readStream(stream, after, end) : [];
      events = read.slice(0, limit);
      hasNextPage = read.length > limit;
      hasPreviousPage = false;
    }
    const commands = await this.deps.commands.byIds(events.map((e) => e.commandId));
    return {
      entries: events.map((event) => ({ event, command: commands.get(event.commandId) })),
      hasNextPage,
      hasPreviousPage,
    };
  }

  /**
   * The aggregate's state after `atVersion`, or as it was at `atTime` (neither: now), replayed
   * from the log. Null when the aggregate had no events yet at that point.
   */
  async stateAt(
    tenantId: string,
    aggregateName: string,
    aggregateId: string,
    point: { atVersion?: number | null; atTime?: Date | null },
  ): Promise<StateAt | null> {
    const stream = this.stream(tenantId, aggregateName, aggregateId);
    const { aggregate } = this.deps.registry.aggregate(aggregateName)!;
    const hasVersion = point.atVersion !== null && point.atVersion !== undefined;
    const hasTime = point.atTime !== null && point.atTime !== undefined;
    if (hasVersion && hasTime) throw new AmbiguousPointInTime("Give atVersion or atTime, not both");
    let events: RecordedEvent[];
    if (hasVersion) {
      const version = point.atVersion!;
      const current = await this.deps.events.streamVersion(stream);
      if (!Number.isInteger(version) || version < 1 || version > current) {
        throw new VersionOutOfRange(
          `${aggregateName} ${aggregateId} has versions 1..${current}; atVersion ${version} is outside them`,
        );
      }
      events = await this.deps.events.readStream(stream, 0, version);
    } else if (hasTime) {
      events = await this.deps.events.readStreamUntil(stream, point.atTime!);
    } else {
      events = await this.deps.events.readStream(stream, 0);
    }
    const last = events.at(-1);
    if (!last) return null;
    return { state: replay(aggregate, events), version: last.version, at: last.createdAt };
  }

  private stream(tenantId: string, aggregateName: string, aggregateId: string): StreamKey {
    if (!this.deps.registry.aggregate(aggregateName)) {
      const known = this.deps.registry.contexts.flatMap((c) => c.aggregates.map((a) => a.name));
      throw new UnknownAggregate(`No aggregate type ${aggregateName}; known: ${known.join(", ")}`);
    }
    return { tenantId, aggregateName, aggregateId };
  }
}
