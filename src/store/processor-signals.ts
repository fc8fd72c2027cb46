/**
 * The processor signals (PROCESSOR-scope results) stored for commands: what the stage tracker
 * reads to decide whether every interested processor has signalled. Here because `src/store` is
 * the only place with SQL.
 */
import type { SqlExecutor } from "./sql.ts";

export interface ProcessorSignal {
  commandId: string;
  stage: string;
  /** `context.processor`, as the registry names it. */
  processorId: string;
  succeeded: boolean;
  errorCode: string;
  errorMsg: string | null;
}

export async function processorSignalsOf(sql: SqlExecutor, commandIds: readonly string[]): Promise<ProcessorSignal[]> {
  const rows = await sql.query<{
    command_id: string;
    stage: string;
    function_context: string;
    processor_name: string;
    succeeded: boolean;
    error_code: string;
    error_msg: string | null;
  }>(
    `SELECT command_id, stage, function_context, processor_name, succeeded, error_code, error_msg FROM command_results
      WHERE command_id = ANY($1::uuid[]) AND scope = 'PROCESSOR'`,
    [[...new Set(commandIds)]],
  );
  return rows.map((r) => ({
    commandId: r.command_id,
    stage: r.stage,
    processorId: `${r.function_context}.${r.processor_name}`,
    succeeded: r.succeeded,
    errorCode: r.error_code,
    errorMsg: r.error_msg,
  }));
}
