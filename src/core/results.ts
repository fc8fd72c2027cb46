/**
 * Result factories: the one place a CommandResult is put together (its 18 fields were written
 * out by hand in each place that reports a stage). A result is about a command (its subject,
 * copied from the command, its last event or an earlier result), says which function reported
 * which stage, and has an outcome: success (`Ok`, no message) or a failure's code and message.
 * Pure; the store gives a stored result its `id` and `signalTime`.
 */
import type { BindingError } from "./errors.ts";
import { type CommandResult, type FunctionInfo, OK, type ResultScope, type Stage } from "./stages.ts";

/** A result before it is stored (the store assigns `id` and `signalTime`). */
export type NewResult = Omit<CommandResult, "id" | "signalTime">;

/** What a result is about: the command, as its every result repeats it. */
export type ResultSubject = Pick<
  CommandResult,
  "commandId" | "correlationId" | "tenantId" | "contextName" | "aggregateName" | "aggregateId" | "requestId"
>;

export type Outcome = Pick<CommandResult, "succeeded" | "errorCode" | "errorMsg">;

export const succeeded: Outcome = Object.freeze({ succeeded: true, errorCode: OK, errorMsg: "" });

export const failed = (errorCode: string, errorMsg: string): Outcome => ({ succeeded: false, errorCode, errorMsg });

/** The gateway's own part in a command's travel (sending, waiting, a stage no processor cares about). */
export const gatewayFunction = (name: string, processorName = "CommandGateway"): FunctionInfo => ({
  functionKind: "GATEWAY",
  contextName: "",
  processorName,
  name,
});

export interface ResultFields {
  stage: Stage;
  scope: ResultScope;
  function: FunctionInfo;
  /** Default: success. */
  outcome?: Outcome;
  /** Default: null (nothing decided yet). */
  aggregateVersion?: number | null;
  /** Default: none. */
  positions?: bigint[];
  /** Default: empty. */
  result?: Record<string, unknown>;
  /** Default: none. */
  bindingErrors?: BindingError[];
}

/** A result about `subject` (any object carrying the subject's fields: a command, a result). */
export const newResult = (subject: ResultSubject, fields: ResultFields): NewResult => ({
  commandId: subject.commandId,
  correlationId: subject.correlationId,
  tenantId: subject.tenantId,
  contextName: subject.contextName,
  aggregateName: subject.aggregateName,
  aggregateId: subject.aggregateId,
  requestId: subject.requestId,
  stage: fields.stage,
  scope: fields.scope,
  function: fields.function,
  aggregateVersion: fields.aggregateVersion ?? null,
  positions: fields.positions ?? [],
  result: fields.result ?? {},
  bindingErrors: fields.bindingErrors ?? [],
  ...(fields.outcome ?? succeeded),
});

/** The SENT result of a command just accepted, as stored with it. */
export const sentResult = (command: ResultSubject, id: string, signalTime: Date): CommandResult => ({
  id,
  signalTime,
  ...newResult(command, { stage: "SENT", scope: "STAGE", function: gatewayFunction("send") }),
});

/**
 * The stage-level result of a runner stage from one processor's signal: failed if any of the
 * outcomes (the interested processors' signals) failed, with the first failure's error.
 */
export function stageResult(signal: NewResult, outcomes: readonly Outcome[]): NewResult {
  const failure = outcomes.find((o) => !o.succeeded);
  return newResult(signal, {
    stage: signal.stage,
    scope: "STAGE",
    function: { functionKind: signal.function.functionKind, contextName: "", processorName: "", name: "" },
    outcome: failure ? failed(failure.errorCode, failure.errorMsg) : succeeded,
    aggregateVersion: signal.aggregateVersion,
    positions: signal.positions,
    bindingErrors: signal.bindingErrors,
    result: signal.function.functionKind === "SAGA" ? signal.result : {},
  });
}
