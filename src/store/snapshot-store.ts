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
