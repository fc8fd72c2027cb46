/**
 * The GraphQL shape of stages, results and wait options, shared by every command mutation,
 * the results query and the results subscription.
 */
import { GraphQLError } from "graphql";
import type { BindingError } from "../core/errors.ts";
import { CoreCode } from "../core/errors.ts";
import { type CommandResult, type FunctionInfo, STAGES, type Stage, type WaitTarget } from "../core/stages.ts";
import type { StagelineBuilder } from "./builder.ts";
import { GraphQLCode } from "./errors.ts";
import { definePositionScalar, shownRequestId } from "./positions.ts";

/**
 * `waitCommandId` was the first name of a chain's root; `correlationId` is its one name now (the
 * events' too). The old field keeps resolving for the clients written against it.
 */
export const WAIT_COMMAND_ID_DEPRECATED =
  "Use correlationId (the same value); waitCommandId will be removed in a later release.";

export function defineCommandTypes(builder: StagelineBuilder) {
  definePositionScalar(builder);
  builder.scalarType("BigInt", {
    description: "A 64-bit integer (event log positions in admin fields), as a decimal string.",
    serialize: (value) => String(value),
    parseValue: (value) => {
      try {
        return BigInt(value as string);
      } catch {
        throw new GraphQLError("BigInt must be an integer or a decimal string", {
          extensions: { code: GraphQLCode.BAD_USER_INPUT },
        });
      }
    },
  });
  builder.scalarType("DateTime", {
    description: "An ISO-8601 timestamp.",
    serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
    parseValue: (value) => {
      const date = new Date(value as string);
      if (typeof value !== "string" || Number.isNaN(date.getTime())) {
        throw new GraphQLError("DateTime must be an ISO-8601 string", {
          extensions: { code: GraphQLCode.BAD_USER_INPUT },
        });
      }
      return date;
    },
  });
  builder.scalarType("JSON", { description: "Any JSON value.", serialize: (v) => v, parseValue: (v) => v });

  const StageEnum = builder.enumType("Stage", {
    description: "SENT → PROCESSED, then SNAPSHOT, PROJECTED, EVENT_HANDLED and SAGA_HANDLED in parallel.",
    values: STAGES,
  });
  const ScopeEnum = builder.enumType("ResultScope", {
    description: "STAGE: the command reached the stage. PROCESSOR: one processor's own signal.",
    values: ["STAGE", "PROCESSOR"] as const,
  });

  const FunctionInfoRef = builder.objectRef<FunctionInfo>("FunctionInfo").implement({
    description: "What produced a result.",
    fields: (t) => ({
      functionKind: t.exposeString("functionKind", {
        description: "GATEWAY, AGGREGATE, SNAPSHOT, PROJECTION, EVENT_HANDLER or SAGA",
      }),
      contextName: t.exposeString("contextName"),
      processorName: t.exposeString("processorName", {
        description: "The name within contextName; the processor's ID (processorId) is contextName.processorName",
      }),
      name: t.exposeString("name"),
    }),
  });

  const BindingErrorRef = builder.objectRef<BindingError>("BindingError").implement({
    description: "A field of the command's input that failed validation.",
    fields: (t) => ({
      field: t.exposeString("field"),
      code: t.exposeString("code"),
      message: t.exposeString("message"),
    }),
  });

  // Declared before it is implemented: its chainFailures field lists results of the same type.
  const CommandResultRef = builder.objectRef<CommandResult>("CommandResult");
  CommandResultRef.implement({
    description: "A stage a command reached, or one processor's signal, with its outcome.",
    fields: (t) => ({
      id: t.exposeID("id"),
      correlationId: t.exposeID("correlationId", {
        description: "The chain's root command (this command itself when a client sent it): what a chain wait follows.",
      }),
      waitCommandId: t.id({
        description: "The chain's root command: the same value as correlationId.",
        deprecationReason: WAIT_COMMAND_ID_DEPRECATED,
        resolve: (r) => r.correlationId,
      }),
      stage: t.field({ type: StageEnum, resolve: (r) => r.stage }),
      scope: t.field({ type: ScopeEnum, resolve: (r) => r.scope }),
      contextName: t.exposeString("contextName"),
      aggregateName: t.exposeString("aggregateName"),
      tenantId: t.exposeString("tenantId"),
      aggregateId: t.exposeID("aggregateId"),
      aggregateVersion: t.exposeInt("aggregateVersion", { nullable: true }),
      requestId: t.string({
        description: "The idempotency key; a saga's (internal:saga:…) carries a position token.",
        resolve: (r, _args, ctx) => shownRequestId(ctx.positions, r.requestId),
      }),
      commandId: t.exposeID("commandId"),
      function: t.field({ type: FunctionInfoRef, resolve: (r) => r.function }),
      errorCode: t.exposeString("errorCode", { description: '"Ok" on success, else a stable code.' }),
      errorMsg: t.exposeString("errorMsg"),
      bindingErrors: t.field({ type: [BindingErrorRef], resolve: (r) => r.bindingErrors }),
      result: t.field({ type: "JSON", resolve: (r) => r.result }),
      signalTime: t.field({ type: "DateTime", resolve: (r) => r.signalTime }),
      succeeded: t.exposeBoolean("succeeded"),
      positions: t.field({
        type: ["Position"],
        description: "Where the events the command produced are in the log, as tokens for minPosition.",
        resolve: (r, _args, ctx) => r.positions.map((position) => ctx.positions.encode(position)),
      }),
      chainFailures: t.field({
        type: [CommandResultRef],
        description:
          "In a mutation's answer to a chain wait: the commands of the chain that failed, one result each (this command's too, if it failed). Empty otherwise.",
        resolve: (r) => r.chainFailures ?? [],
      }),
    }),
  });

  const ProcessorFilter = builder.inputType("ProcessorFilter", {
    description: "Names one processor; a blank field matches any.",
    fields: (t) => ({
      contextName: t.string(),
      processorName: t.string({ description: "The name within contextName, as FunctionInfo.processorName" }),
      name: t.string(),
    }),
  });

  const WaitFor = builder.inputType("WaitFor", {
    description: "What to wait for before answering (mutation) or ending the stream (subscription).",
    fields: (t) => ({
      stage: t.field({
        type: StageEnum,
        description: "Absent: every stage (all four runner stages reached, or a failure).",
      }),
      processor: t.field({ type: ProcessorFilter, description: "Wait for this processor's signal at the stage." }),
      chain: t.boolean({
        description: "Wait until every command sagas issued from this one (recursively) reached the stage.",
      }),
      timeoutMs: t.int({
        description: "Give up after this long (default: COMMAND_WAIT_TIMEOUT_MS); reported as WAIT_TIMEOUT.",
      }),
    }),
  });

  const CommandOptions = builder.inputType("CommandOptions", {
    description: "How to send a command and what to wait for.",
    fields: (t) => ({
      aggregateId: t.id({ description: "The aggregate to act on; generated for creating commands when absent." }),
      requestId: t.string({
        description:
          'Idempotency key (per tenant); defaults to the command ID. Keys starting with "internal:" are the system\'s own (VALIDATION_FAILED).',
      }),
      expectedVersion: t.int({ description: "Refuse unless the aggregate is at exactly this version." }),
      async: t.boolean({ description: "Store now and process in a worker (default: COMMAND_PROCESSING)." }),
      waitFor: t.field({ type: WaitFor, description: "Default: answer at SENT, with the command ID." }),
    }),
  });

  return { StageEnum, CommandResultRef, WaitFor, CommandOptions };
}

export interface WaitForInput {
  stage?: Stage | null;
  processor?: { contextName?: string | null; processorName?: string | null; name?: string | null } | null;
  chain?: boolean | null;
  timeoutMs?: number | null;
}

export const MAX_WAIT_MS = 300_000;

export function toWait(
  input: WaitForInput | null | undefined,
  fallback: Stage | "ALL",
): WaitTarget & { timeoutMs?: number } {
  if (!input) return { stage: fallback };
  if (
    input.timeoutMs !== null &&
    input.timeoutMs !== undefined &&
    (input.timeoutMs < 1 || input.timeoutMs > MAX_WAIT_MS)
  ) {
    throw new GraphQLError(`waitFor.timeoutMs must be between 1 and ${MAX_WAIT_MS}`, {
      extensions: {
        code: CoreCode.VALIDATION_FAILED,
        bindingErrors: [{ field: "waitFor.timeoutMs", code: "out_of_range", message: `1..${MAX_WAIT_MS}` }],
      },
    });
  }
  return {
    stage: input.stage ?? "ALL",
    processor: input.processor
      ? {
          contextName: input.processor.contextName ?? undefined,
          processorName: input.processor.processorName ?? undefined,
          name: input.processor.name ?? undefined,
        }
      : undefined,
    chain: input.chain ?? false,
    timeoutMs: input.timeoutMs ?? undefined,
  };
}
