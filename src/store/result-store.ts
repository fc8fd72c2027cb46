/**
 * Command results, one row per stage reached and per processor signal, kept for the retention
 * window so that a subscriber arriving late is first given everything already reached.
 */
import type { BindingError } from "../core/errors.ts";
import type { NewResult } from "../core/results.ts";
import type { CommandResult, FunctionKind, ResultScope, Stage } from "../core/stages.ts";
import type { SqlExecutor } from "./sql.ts";

export interface ResultRow {
  id: string | number | bigint;
  command_id: string;
  correlation_id: string;
  stage: Stage;
  scope: ResultScope;
  tenant_id: string;
  context_name: string;
  aggregate_name: string;
  aggregate_id: string;
  aggregate_version: number | null;
  request_id: string;
  function_kind: FunctionKind;
  function_context: string;
  processor_name: string;
  function_name: string;
  error_code: string;
  error_msg: string | null;
  binding_errors: BindingError[];
  result: Record<string, unknown> | null;
  positions: (string | number | bigint)[] | null;
  succeeded: boolean;
  signal_time: Date;
}

export const toResult = (r: ResultRow): CommandResult => ({
  id: String(r.id),
  commandId: r.command_id,
  correlationId: r.correlation_id,
  stage: r.stage,
  scope: r.scope,
  tenantId: r.tenant_id,
  contextName: r.context_name,
  aggregateName: r.aggregate_name,
  aggregateId: r.aggregate_id,
  aggregateVersion: r.aggregate_version,
  requestId: r.request_id,
  function: {
    functionKind: r.function_kind,
    contextName: r.function_context,
    processorName: r.processor_name,
    name: r.function_name,
  },
  errorCode: r.error_code,
  errorMsg: r.error_msg ?? "",
  bindingErrors: r.binding_errors ?? [],
  result: r.result ?? {},
  positions: (r.positions ?? []).map((p) => BigInt(p)),
  succeeded: r.succeeded,
  signalTime: r.signal_time,
});

export class ResultStore {
  constructor(
    private readonly sql: SqlExecutor,
    private readonly retentionMs: number,
  ) {}

  /**
   * Stores results; a result already stored (same command, stage, scope and processor) is
   * skipped, so a repeated signal is harmless. Returns the ones stored, with their IDs.
   */
  async insert(results: readonly NewResult[], executor: SqlExecutor = this.sql): Promise<CommandResult[]> {
    if (results.length === 0) return [];
    const rows = await executor.query<ResultRow>(
      `INSERT INTO command_results (command_id, correlation_id, stage, scope, tenant_id, context_name, aggregate_name,
                                    aggregate_id, aggregate_version, request_id, function_kind, function_context,
                                    processor_name, function_name, error_code, error_msg, binding_errors, result,
                                    positions, succeeded, expires_at)
       SELECT (r->>'commandId')::uuid, (r->>'correlationId')::uuid, r->>'stage', r->>'scope', r->>'tenantId', r->>'contextName',
              r->>'aggregateName', r->>'aggregateId', (r->>'aggregateVersion')::int, r->>'requestId',
              r->'function'->>'functionKind', r->'function'->>'contextName', r->'function'->>'processorName',
              r->'function'->>'name', r->>'errorCode', nullif(r->>'errorMsg', ''), r->'bindingErrors', r->'result',
              ARRAY(SELECT jsonb_array_elements_text(r->'positions')::bigint), (r->>'succeeded')::boolean,
              now() + make_interval(secs => $2)
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS item(r, ord)
        ORDER BY item.ord
       ON CONFLICT (command_id, stage, scope, function_context, processor_name) DO NOTHING
       RETURNING *`,
      [JSON.stringify(results, (_k, v) => (typeof v === "bigint" ? v.toString() : v)), this.retentionMs / 1000],
      { name: "stageline_insert_results" },
    );
    return rows.map(toResult).sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
  }

  async byCommand(commandId: string): Promise<CommandResult[]> {
    const rows = await this.sql.query<ResultRow>(
      `SELECT * FROM command_results WHERE command_id = $1 ORDER BY id`,
      [commandId],
      { name: "stageline_results_by_command" },
    );
    return rows.map(toResult);
  }

  /** Every result of a causal chain: the root and all the commands issued on its behalf. */
  async byCorrelation(correlationId: string): Promise<CommandResult[]> {
    const rows = await this.sql.query<ResultRow>(
      `SELECT * FROM command_results WHERE correlation_id = $1 ORDER BY id`,
      [correlationId],
    );
    return rows.map(toResult);
  }

  async purgeExpired(): Promise<number> {
    // A command set aside (FAILED) keeps its results past the window: it keeps its request ID,
    // so a client retrying that key is answered from them, and an operator may still retry it.
    const rows = await this.sql.query(
      `DELETE FROM command_results r
        WHERE r.expires_at < now()
          AND NOT EXISTS (SELECT 1 FROM commands c WHERE c.command_id = r.command_id AND c.status = 'FAILED')
       RETURNING 1`,
    );
    return rows.length;
  }
}
