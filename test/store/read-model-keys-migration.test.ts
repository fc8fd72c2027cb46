import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedEvent } from "../../src/core/messages.ts";
import { rowKey } from "../../src/core/row-key.ts";
import { TransferViewProjection } from "../../src/domains/banking/projections.ts";
import { migrate } from "../../src/store/migrations.ts";
import { engines, type TestDatabase } from "../support/databases.ts";
import { openDatabaseBefore } from "../support/migrated-before.ts";

const THIS_MIGRATION = "20261201130000_unambiguous_read_model_keys";
const uuid = "00000000-0000-7000-8000-000000000001";
/** IDs that the old keys could not tell apart, and a tenant no request could name (DEFAULT_TENANT could). */
const TRICKY = ["o", "o:x", "x:y", "y", "a\\", "a\\:", ":b", "\\\\", ""];
const ODD_TENANT = "we:ird\\";

describe.each(engines)("the read-model keys migration on %s", (engine) => {
  let db: TestDatabase;
  let preparedPosition: bigint;

  beforeAll(async () => {
    db = await openDatabaseBefore(engine, THIS_MIGRATION);
    const q = (text: string, params: unknown[] = []) => db.sql.query(text, params);
    const stamp = "now(), now()";
    // Old-shape rows, keyed as the old code keyed them.
    for (const [tenant, id] of [
      ["t", "ada"],
      [ODD_TENANT, "x"],
    ] as const) {
      await q(
        `INSERT INTO account_views (key, tenant_id, id, name, balance, status, version, updated_at) VALUES ($1, $2, $3, 'n', 5, 'ACTIVE', 1, now())`,
        [`${tenant}:${id}`, tenant, id],
      );
    }
    await q(
      `INSERT INTO ordering_customers (key, tenant_id, id, name, email, version, created_at, updated_at) VALUES ('t:c', 't', 'c', 'C', '', 1, ${stamp})`,
    );
    await q(
      `INSERT INTO ordering_products (key, tenant_id, id, name, price, version, updated_at) VALUES ('t:x:y', 't', 'x:y', 'P', 1, 1, now())`,
    );
    await q(
      `INSERT INTO customer_order_stats (key, tenant_id, customer_id, customer_name, updated_at) VALUES ('t:c', 't', 'c', 'C', now())`,
    );
    let position = 100;
    for (const orderId of ["o", "o:x"]) {
      position += 1;
      await q(
        `INSERT INTO order_summaries (key, tenant_id, id, customer_id, customer_name, status, item_count, line_count, total, created_position, version, created_at, updated_at)
         VALUES ($1, 't', $2, 'c', 'C', 'DRAFT', 1, 1, 1, $3, 1, ${stamp})`,
        [`t:${orderId}`, orderId, position],
      );
    }
    // Product p on order o:x, and product x:p on order o: the old keys t:o:x:p collided; these two differ.
    await q(
      `INSERT INTO order_lines (key, order_key, tenant_id, product_id, product_name, quantity, unit_price, subtotal, line_no) VALUES
       ('t:o:x:p', 't:o:x', 't', 'p', 'P', 1, 1, 1, 1), ('t:o:q', 't:o', 't', 'q', 'Q', 2, 1, 2, 1)`,
    );
    const [event] = await db.sql.query<{ position: string }>(
      `INSERT INTO events (tenant_id, aggregate_name, aggregate_id, version, type, body, command_id, request_id, correlation_id, causation_id)
       VALUES ('t', 'Account', 'ann', 2, 'TransferPrepared', '{"transferId":"t-1","targetAccountId":"bob","amount":10}', $1, 'r', $1, 'c')
       RETURNING position::text AS position`,
      [uuid],
    );
    preparedPosition = BigInt(event!.position);
    await q(
      `INSERT INTO transfer_views (key, tenant_id, id, source_account_id, target_account_id, amount, status, created_at, updated_at) VALUES
       ('t:t-1', 't', 't-1', 'ann', 'bob', 10, 'PREPARED', ${stamp}), ('t:ghost', 't', 'ghost', 'ann', 'bob', 1, 'COMPLETED', ${stamp})`,
    );

    const report = await migrate(db.sql);
    expect(report.applied).toContain(THIS_MIGRATION);
  });
  afterAll(async () => {
    await db?.close();
  });

  it("escapes in SQL exactly as rowKey does", async () => {
    for (const a of [...TRICKY, ODD_TENANT]) {
      for (const b of TRICKY) {
        const [row] = await db.sql.query<{ key: string }>(
          `SELECT replace(replace($1::text, '\\', '\\\\'), ':', '\\:') || ':' || $2::text AS key`,
          [a, b],
        );
        expect(row!.key).toBe(rowKey(a, b));
      }
    }
  });

  it("recomputes every key from its own columns", async () => {
    const keys = async (table: string, id = "id") =>
      (
        await db.sql.query<{ key: string; tenant_id: string; id: string }>(
          `SELECT key, tenant_id, ${id} AS id FROM ${table} ORDER BY key`,
        )
      ).map((r) => [r.key, rowKey(r.tenant_id, r.id)]);
    for (const [table, id] of [
      ["account_views", "id"],
      ["ordering_customers", "id"],
      ["ordering_products", "id"],
      ["customer_order_stats", "customer_id"],
      ["order_summaries", "id"],
    ] as const) {
      for (const [stored, expected] of await keys(table, id)) expect(stored).toBe(expected);
    }
    expect(await db.prisma.accountView.findUnique({ where: { key: rowKey(ODD_TENANT, "x") } })).not.toBeNull();

    const order = await db.prisma.orderSummary.findUniqueOrThrow({
      where: { key: rowKey("t", "o:x") },
      include: { lines: true },
    });
    expect(order.lines.map((l) => [l.key, l.orderKey, l.productId])).toEqual([
      [rowKey("t", "o:x", "p"), rowKey("t", "o:x"), "p"],
    ]);
    const other = await db.prisma.orderSummary.findUniqueOrThrow({
      where: { key: rowKey("t", "o") },
      include: { lines: true },
    });
    expect(other.lines.map((l) => l.key)).toEqual([rowKey("t", "o", "q")]);
    // The foreign key is back, and still cascades.
    await db.prisma.orderSummary.delete({ where: { key: rowKey("t", "o") } });
    expect(await db.prisma.orderLine.count({ where: { tenantId: "t", productId: "q" } })).toBe(0);
  });

  it("keys each transfer by its TransferPrepared event, and the projection goes on from there", async () => {
    const rows = await db.prisma.transferView.findMany({ orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.id, r.preparedPosition])).toEqual([
      ["ghost", -1n], // its event is not in the log: a unique stand-in
      ["t-1", preparedPosition],
    ]);
    const confirmed: RecordedEvent = {
      position: preparedPosition + 10n,
      transactionId: 1n,
      tenantId: "t",
      aggregateName: "Account",
      aggregateId: "ann",
      version: 3,
      type: "TransferConfirmed",
      schemaVersion: 1,
      data: { transferId: "t-1", amount: 10 },
      commandId: uuid,
      requestId: "r2",
      correlationId: uuid,
      causationId: "c",
      createdAt: new Date(),
    };
    await TransferViewProjection.apply([confirmed], db.prisma);
    expect(await db.prisma.transferView.findUnique({ where: { preparedPosition } })).toMatchObject({
      status: "COMPLETED",
    });
  });

  it("allows one pending transfer per tenant, source account and ID", async () => {
    const pending = { tenant_id: "t", id: "t-9", source: "ann" };
    const insert = (position: number) =>
      db.sql.query(
        `INSERT INTO transfer_views (prepared_position, tenant_id, id, source_account_id, target_account_id, amount, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'bob', 1, 'PREPARED', now(), now())`,
        [position, pending.tenant_id, pending.id, pending.source],
      );
    await insert(900001);
    await expect(insert(900002)).rejects.toThrow();
  });
});
