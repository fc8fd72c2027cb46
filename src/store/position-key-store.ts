/**
 * The position_key table: the one key of the position tokens (src/core/position-token.ts),
 * made by whichever process starts first and read back by all, so every process and restart
 * encodes and decodes the same tokens. The SQL for it lives here and nowhere else.
 */
import { randomBytes } from "node:crypto";
import type { SqlExecutor } from "./sql.ts";

export class PositionKeyStore {
  constructor(private readonly sql: SqlExecutor) {}

  /** The stored key; a new random one stored first when there is none (a racing process's insert wins). */
  async load(): Promise<Buffer> {
    await this.sql.query("INSERT INTO position_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING", [
      randomBytes(32),
    ]);
    const rows = await this.sql.query<{ key: Uint8Array }>("SELECT key FROM position_key WHERE id = 1");
    return Buffer.from(rows[0]!.key);
  }
}
