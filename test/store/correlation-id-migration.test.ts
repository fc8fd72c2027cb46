import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleQueries } from "../../src/store/console-queries.ts";
import { migrate } from "../../src/store/migrations.ts";
import { ResultStore } from "../../src/store/result-store.ts";
import { engines, type TestDatabase } from "../support/databases.ts";
import { openDatabaseBefore } from "../support/migrated-before.ts";

const THIS_MIGRATION = "20261201213853_one_name_per_thing";
const ROOT = "00000000-0000-7000-8000-000000000001";
const CHILD = "00000000-0000-7000-8000-000000000002";
const OTHER = "00000000-0000-7000-8000-000000000003";

describe.each(engines)("the correlation ID migration on %s", (engine) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await openDatabaseBefore(engine, THIS_MIGRATION);
    // A chain as the old code stored it (ROOT sent by a client, CHILD by a saga), and another command.
    for (const [commandId, root, causation] of [
      [ROOT, ROOT, ROOT],
      [CHILD, ROOT, "event:1"],
      [OTHER, OTHER, OTHER],
    ]) {
      await db.sql.query(
        `INSERT INTO commands (command_id, tenant_id, request_id, payload_hash, context_name, aggregate_name, aggregate_id,
                               type, body, correlation_id, causation_id, wait_command_id, status, expires_at)
         VALUES ($1::uuid, 't', $1::text, 'h', 'banking', 'Account', 'ada', 'Deposit', '{"amount":1}', $2::uuid, $3, $2::uuid, 'DONE',
                 now() + interval '1 day')`,
        [commandId, root, causation],
      );
      for (const stage of ["SENT", "PROCESSED"]) {
        await db.sql.query(
          `INSERT INTO command_results (command_id, wait_command_id, stage, scope, tenant_id, context_name,
                                        aggregate_name, aggregate_id, request_id, function_kind, function_context,
                                        processor_name, function_name, error_code, succeeded, positions, expires_at)
           VALUES ($1::uuid, $2::uuid, $3, 'STAGE', 't', 'banking', 'Account', 'ada', $1::text, 'GATEWAY', '', 'CommandGateway',
                   'send', 'Ok', true, '{}', now() + interval '1 day')`,
          [commandId, root, stage],
        );
      }
    }
    const report = await migrate(db.sql);
    expect(report.applied).toContain(THIS_MIGRATION);
  });
  afterAll(async () => {
    await db?.close();
  });

  it("keeps every stored result, each under its chain's root", async () => {
    const results = new ResultStore(db.sql, 60_000);
    const chain = await results.byCorrelation(ROOT);
    expect(chain.map((r) => [r.commandId, r.stage, r.correlationId])).toEqual([
      [ROOT, "SENT", ROOT],
      [ROOT, "PROCESSED", ROOT],
      [CHILD, "SENT", ROOT],
      [CHILD, "PROCESSED", ROOT],
    ]);
    expect(await db.prisma.commandResult.count({ where: { correlationId: OTHER } })).toBe(2);
  });

  it("drops the commands' copy of the root and renames the results' index", async () => {
    const columns = await db.sql.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_name IN ('commands', 'command_results') AND column_name LIKE '%command_id' ORDER BY 1, 2`,
    );
    expect(columns.map((c) => `${c.table_name}.${c.column_name}`)).toEqual([
      "command_results.command_id",
      "commands.command_id",
    ]);
    const indexes = await db.sql.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'command_results' AND indexname LIKE '%correlation%'`,
    );
    expect(indexes).toHaveLength(1);
    expect(indexes[0]!.indexname).toBe("command_results_correlation_idx");
    expect(indexes[0]!.indexdef).toContain("(correlation_id, id)");
  });

  it("finds a chain stored before, with each command's payload as data", async () => {
    const chain = await new ConsoleQueries(db.sql).chain("t", ROOT, 10);
    expect(chain.map((c) => [c.commandId, c.correlationId, c.parentCommandId])).toEqual([
      [ROOT, ROOT, null],
      [CHILD, ROOT, null], // its causing event is not in this log
    ]);
    expect(chain[0]!.data).toEqual({ amount: 1 });
    const command = await db.prisma.command.findUniqueOrThrow({ where: { commandId: CHILD } });
    expect([command.correlationId, command.data]).toEqual([ROOT, { amount: 1 }]);
  });
});
