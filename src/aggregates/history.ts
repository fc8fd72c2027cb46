/**
 * History and time travel, from the log: an aggregate's events with who caused them (an audit
 * trail, paged by version), and its state at a version or at a moment, loaded by the one
 * aggregate loader (the latest snapshot at or below that version, plus the events after it,
 * upcast) — never from a read model. A read-side service: the gateway does not use it.
 */
import { AmbiguousPointInTime, InvalidPage, UnknownAggregate, VersionOutOfRange } from "../core/errors.ts";
import type { RecordedEvent, StreamKey } from "../core/messages.ts";
import type { Registry } from "../core/registry.ts";
import { MAX_INT4 } from "../core/text.ts";
import type { CommandStore, StoredCommand } from "../store/command-store.ts";
import type { EventLog } from "../store/event-log.ts";
import type { AggregateLoader } from "./loader.ts";

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

/** Page bounds are versions: the caller decodes its cursors (src/core/cursor.ts) to them. */
export interface PageArgs {
  first?: number | null;
  after?: number | null;
  last?: number | null;
  before?: number | null;
}

export interface StateAt {
  state: unknown;
  version: number;
  /** When the last event replayed was written. */
  at: Date;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface AggregateHistoryDeps {
  registry: Registry;
  events: Pick<EventLog, "readStream" | "streamVersion" | "versionAt">;
  commands: Pick<CommandStore, "byIds">;
  loader: Pick<AggregateLoader, "load">;
}

export class AggregateHistory {
  constructor(private readonly deps: AggregateHistoryDeps) {}

  /**
   * A page of the aggregate's events, oldest first: `first` after `after`, or `last` before
   * `before` (default: the first 20). Commands past their retention show as absent.
   */
  async page(tenantId: string, aggregateName: string, aggregateId: string, args: PageArgs): Promise<HistoryPage> {
    const stream = this.stream(tenantId, aggregateName, aggregateId);
    // Versions are PostgreSQL integers: a larger one was never handed out (and would fail in SQL).
    const version = (v: number | null | undefined, name: string) => {
      if (v === null || v === undefined) return undefined;
      if (!Number.isInteger(v) || v < 0 || v > MAX_INT4) throw new InvalidPage(`${name} is not a version`);
      return v;
    };
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
    const after = version(args.after, "after") ?? 0;
    const before = version(args.before, "before");

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
   * The aggregate's state after `atVersion`, or as it was at `atTime` (neither: now). Null when
   * the aggregate had no events yet at that point.
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
    let toVersion: number | undefined;
    if (hasVersion) {
      toVersion = point.atVersion!;
      const current = await this.deps.events.streamVersion(stream);
      if (!Number.isInteger(toVersion) || toVersion < 1 || toVersion > current) {
        throw new VersionOutOfRange(
          `${aggregateName} ${aggregateId} has versions 1..${current}; atVersion ${toVersion} is outside them`,
        );
      }
    } else if (hasTime) {
      toVersion = await this.deps.events.versionAt(stream, point.atTime!);
      if (toVersion === 0) return null;
    }
    const loaded = await this.deps.loader.load(aggregate, stream, { toVersion });
    if (loaded.version === 0) return null;
    // Loaded from a snapshot at exactly that version, no event was read: its time is one row away.
    const last = loaded.last ?? (await this.deps.events.readStream(stream, loaded.version - 1, loaded.version))[0];
    return { state: loaded.state, version: loaded.version, at: last!.createdAt };
  }

  private stream(tenantId: string, aggregateName: string, aggregateId: string): StreamKey {
    if (!this.deps.registry.aggregate(aggregateName)) {
      const known = this.deps.registry.contexts.flatMap((c) => c.aggregates.map((a) => a.name));
      throw new UnknownAggregate(`No aggregate type ${aggregateName}; known: ${known.join(", ")}`);
    }
    return { tenantId, aggregateName, aggregateId };
  }
}
