/**
 * The one hook around a command's send and around a worker's processing of a stored command:
 * the work runs in the command's log context (command ID, tenant and request ID on every line
 * it logs) and in its trace span (src/ops/tracing.ts); a send answered from the idempotency
 * record is counted. Kept here so the gateway and the worker each call one line.
 */
import type { Logger } from "../logger.ts";
import { withLogContext } from "../logger.ts";
import { idempotencyHits } from "./process-metrics.ts";
import { type TracedCommand, traceCommand, traceWorker } from "./tracing.ts";

/** Sends a command (accepted, or answered as a duplicate) inside its log context and span. */
export function inSendScope<T extends { duplicate: boolean; commandId: string }>(
  command: TracedCommand & { requestId: string },
  logger: Logger,
  send: () => Promise<T>,
): Promise<T> {
  return inLogContext(command, () =>
    traceCommand(command, async () => {
      const sent = await send();
      if (sent.duplicate) {
        idempotencyHits.inc({ command_type: `${command.aggregateName}.${command.type}` });
        logger.debug({ duplicateOf: sent.commandId }, "request ID seen before: answered from the first command");
      } else logger.debug({ aggregate: command.aggregateName, type: command.type }, "command sent");
      return sent;
    }),
  );
}

/** Processes a stored command in a worker inside its log context and a span joining its trace. */
export function inWorkerScope<T>(
  command: TracedCommand & { requestId: string },
  recovered: boolean,
  work: () => Promise<T>,
): Promise<T> {
  return inLogContext(command, () => traceWorker(command, recovered, work));
}

/** The command's log context: its ID, tenant and request ID on every line `work` logs. */
const inLogContext = <T>(command: TracedCommand & { requestId: string }, work: () => Promise<T>): Promise<T> =>
  withLogContext({ commandId: command.commandId, tenantId: command.tenantId, requestId: command.requestId }, work);
