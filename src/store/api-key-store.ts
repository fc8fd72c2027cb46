/**
 * The api_keys table: create (the hash only), find by ID for verification, revoke, list.
 * The SQL for API keys lives here and nowhere else.
 */
import { generateApiKey } from "../auth/api-keys.ts";
import type { SqlExecutor } from "./sql.ts";

export interface ApiKeyRecord {
  id: string;
  secretHash: string;
  label: string | null;
  tenants: string[];
  roles: string[];
  createdAt: Date;
  revokedAt: Date | null;
}

interface Row {
  id: string;
  secret_hash: string;
  label: string | null;
  tenants: string[] | null;
  roles: string[] | null;
  created_at: Date | string;
  revoked_at: Date | string | null;
}

const COLUMNS = "id, secret_hash, label, tenants, roles, created_at, revoked_at";

export class ApiKeyStore {
  constructor(private readonly sql: SqlExecutor) {}

  /** Stores a new key's hash; returns the key (to show once) and its record. */
  async create(grant: { tenants: string[]; roles: string[]; label?: string }): Promise<{
    key: string;
    record: ApiKeyRecord;
  }> {
    const fresh = generateApiKey();
    const rows = await this.sql.query<Row>(
      `INSERT INTO api_keys (id, secret_hash, label, tenants, roles) VALUES ($1, $2, $3, $4::text[], $5::text[])
       RETURNING ${COLUMNS}`,
      [fresh.id, fresh.hash, grant.label ?? null, grant.tenants, grant.roles],
    );
    return { key: fresh.key, record: recordOf(rows[0]!) };
  }

  async find(id: string): Promise<ApiKeyRecord | undefined> {
    const rows = await this.sql.query<Row>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [id]);
    return rows[0] ? recordOf(rows[0]) : undefined;
  }

  /** Revokes a key; false when there is no such key (or it was revoked already). */
  async revoke(id: string): Promise<boolean> {
    const rows = await this.sql.query<{ id: string }>(
      "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id",
      [id],
    );
    return rows.length > 0;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.sql.query<Row>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`);
    return rows.map(recordOf);
  }
}

function recordOf(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    label: row.label,
    tenants: row.tenants ?? [],
    roles: row.roles ?? [],
    createdAt: new Date(row.created_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
  };
}
