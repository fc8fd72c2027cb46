/**
 * The one way an aggregate's state is read from storage: its latest usable snapshot plus the
 * events after it, folded with the aggregate's upcasters — optionally stopping at a version.
 * The gateway decides on it, the snapshotter folds the next snapshot with it, sagas look
 * aggregates up with it, and history's time travel replays to a past version with it; one
 * loader, so a fix to loading (snapshot rules, upcasting) reaches all four.
 */
import { type AnyAggregate, replay } from "../core/aggregate.ts";
import type { RecordedEvent, StreamKey } from "../core/messages.ts";
import type { EventLog } from "../store/event-log.ts";
import type { Snapshot, SnapshotStore } from "../store/snapshot-store.ts";

export interface LoadedAggregate<State = unknown> {
  state: State;
  /** The version the state is at (0: no events). */
  version: number;
  /** The last event folded in, absent when none was read (a new stream, or the snapshot was at the point). */
  last?: RecordedEvent;
}

export interface LoadOptions {
  /** Stop at this version: the state as it was after it (default: the stream's head). */
  toVersion?: number;
}

export interface AggregateLoaderDeps {
  events: Pick<EventLog, "readStream">;
  snapshots: Pick<SnapshotStore, "load">;
}

type Loadable<State> = AnyAggregate & { initialState(): State };

/**
 * A snapshot the fold may start from: of the aggregate's current state shape, and not past the
 * version asked for (a newer snapshot holds events the caller asked to leave out).
 */
export function usableSnapshot(
  aggregate: Pick<AnyAggregate, "snapshotVersion">,
  snapshot: Snapshot | undefined,
  toVersion?: number,
): Snapshot | undefined {
  if (!snapshot || snapshot.stateVersion !== (aggregate.snapshotVersion ?? 1)) return undefined;
  return toVersion === undefined || snapshot.version <= toVersion ? snapshot : undefined;
}

/** Folds the events after `from` (a usable snapshot, or nothing: the initial state) into a loaded aggregate. */
export function foldFrom<State>(
  aggregate: Loadable<State>,
  from: Snapshot | undefined,
  events: readonly RecordedEvent[],
): LoadedAggregate<State> {
  const state = replay(aggregate, events, from ? (from.state as State) : aggregate.initialState());
  const last = events.at(-1);
  return { state, version: last?.version ?? from?.version ?? 0, ...(last ? { last } : {}) };
}

export class AggregateLoader {
  constructor(private readonly deps: AggregateLoaderDeps) {}

  async load<State = unknown>(
    aggregate: Loadable<State>,
    stream: StreamKey,
    options: LoadOptions = {},
  ): Promise<LoadedAggregate<State>> {
    const snapshot = usableSnapshot(aggregate, await this.deps.snapshots.load(stream), options.toVersion);
    const events = await this.deps.events.readStream(stream, snapshot?.version ?? 0, options.toVersion);
    return foldFrom(aggregate, snapshot, events);
  }
}
