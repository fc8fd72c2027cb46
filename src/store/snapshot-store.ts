/**
 * The latest snapshot of each aggregate: its state at a version, so that loading reads only
 * the events after it. Written by the snapshot runner, read by the aggregate processor.
 */
import type { StreamKey } from "../core/messages.ts";
import type { SqlExecutor } from "./sql.ts";

export interface Snapshot {
  version: number;
  stateVersion: number;
  state: unknown;
  position: bigint;
}

export interface SnapshotToSave extends StreamKey, Snapshot {}

export class SnapshotStore {
  constructor(private readonly sql: SqlExecutor) {}

  async load(stream: StreamKey): Promise<Snapshot | undefined> {
    const rows = await this.sql.query<{
      version: number;
      state_version: number;
      state: unknown;
      position: string | number;
    }>(
      `SELECT version, state_version, state, position FROM snapshots
        WHERE tenant_id = $1 AND aggregate_name = $2 AND aggregate_id = $3`,
      [stream.tenantId, stream.aggregateName, stream.aggregateId],
      { name: "stageline_load_snapshot" },
    );
    const row = rows[0];
    return row
      ? { version: row.version, stateVersion: row.state_version, state: row.state, position: BigInt(row.position) }
      : undefined;
  }

  /**
   * The latest snapshot of each stream, in one statement (the snapshot runner's batch), keyed
   * by `streamName`-like `tenant/aggregate/id`; a stream without one is absent.
   */
  async loadMany(streams: readonly StreamKey[]): Promise<Map<string, Snapshot>> {
    const found = new Map<string, Snapshot>();
    if (streams.length === 0) return found;
    const rows = await this.sql.query<{
      tenant_id: string;
      aggregate_name: string;
      aggregate_id: string;
      version: number;
      state_version: number;
      state: unknown;
      position: string | number;
    }>(
      `SELECT s.tenant_id, s.aggregate_name, s.aggregate_id, s.version, s.state_version, s.state, s.position
         FROM snapshots s
         JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(tenant_id, aggregate_name, aggregate_id)
           ON s.tenant_id = k.tenant_id AND s.aggregate_name = k.aggregate_name AND s.aggregate_id = k.aggregate_id`,
      [streams.map((s) => s.tenantId), streams.map((s) => s.aggregateName), streams.map((s) => s.aggregateId)],
      { name: "stageline_load_snapshots" },
    );
    for (const row of rows) {
      found.set(
        snapshotKey({ tenantId: row.tenant_id, aggregateName: row.aggregate_name, aggregateId: row.aggregate_id }),
        {
          version: row.version,
          stateVersion: row.state_version,
          state: row.state,
          position: BigInt(row.position),
        },
      );
    }
    return found;
  }

  /** Saves snapshots in one statement; an older version never overwrites a newer one. */
  async save(snapshots: readonly SnapshotToSave[], executor: SqlExecutor = this.sql): Promise<void> {
    if (snapshots.length === 0) return;
    await executor.query(
      `INSERT INTO snapshots (tenant_id, aggregate_name, aggregate_id, version, state_version, state, position)
       SELECT s->>'tenantId', s->>'aggregateName', s->>'aggregateId', (s->>'version')::int,
              (s->>'stateVersion')::int, s->'state', (s->>'position')::bigint
         FROM jsonb_array_elements($1::jsonb) AS s
       ON CONFLICT (tenant_id, aggregate_name, aggregate_id) DO UPDATE
          SET version = excluded.version, state_version = excluded.state_version, state = excluded.state,
              position = excluded.position, created_at = now()
        WHERE snapshots.version < excluded.version OR snapshots.state_version <> excluded.state_version`,
      [JSON.stringify(snapshots, (_k, v) => (typeof v === "bigint" ? v.toString() : v))],
    );
  }
}

/** The key `loadMany` answers under. */
export const snapshotKey = (stream: StreamKey) => `${stream.tenantId}/${stream.aggregateName}/${stream.aggregateId}`;
