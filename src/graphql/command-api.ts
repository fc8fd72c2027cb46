/**
 * The command side of the API, derived from the registry: one mutation per command (its input
 * type from the command's zod schema), `Query.commandResults` and `Subscription.commandResults`.
 */

import type { Registry } from "../core/registry.ts";
import type { CommandResult } from "../core/stages.ts";
import { answerOf } from "../gateway/wait-answer.ts";
import type { StagelineBuilder } from "./builder.ts";
import { defineCommandTypes, toWait, type WaitForInput } from "./command-types.ts";
import { withErrorCodes } from "./errors.ts";
import { hasFields, zodInputType } from "./zod-input.ts";

interface CommandOptionsInput {
  aggregateId?: string | number | null;
  requestId?: string | null;
  expectedVersion?: number | null;
  async?: boolean | null;
  waitFor?: WaitForInput | null;
}

export function defineCommandApi(builder: StagelineBuilder, registry: Registry) {
  const types = defineCommandTypes(builder);

  for (const command of registry.commands) {
    if (command.spec.internal) continue;
    const input = hasFields(command.spec.input)
      ? zodInputType(builder, `${command.type}Input`, command.spec.input)
      : undefined;
    builder.mutationField(command.fieldName, (t) =>
      t.field({
        type: types.CommandResultRef,
        description: `${command.spec.description ?? command.type} (${command.contextName}.${command.aggregate.name})`,
        authScopes: command.spec.roles ? { anyRole: command.spec.roles } : { member: true },
        args: {
          ...(input ? { input: t.arg({ type: input, required: true }) } : {}),
          command: t.arg({ type: types.CommandOptions }),
        },
        resolve: withErrorCodes(async (_root, args, ctx, info) => {
          const { input: data, command: options } = args as { input?: unknown; command?: CommandOptionsInput | null };
          const wait = toWait(options?.waitFor, "SENT");
          const { commandId, results } = await ctx.gateway.send(
            {
              aggregateName: command.aggregate.name,
              type: command.type,
              input: data ?? {},
              tenantId: ctx.tenantId,
              aggregateId:
                options?.aggregateId === undefined || options?.aggregateId === null
                  ? null
                  : String(options.aggregateId),
              requestId: options?.requestId,
              expectedVersion: options?.expectedVersion,
              async: options?.async,
              header: { ...ctx.caller, operation: info.operation.name?.value ?? null },
            },
            wait,
          );
          // About the command sent, even when a chain's last result is another command's.
          return answerOf(commandId, wait, results);
        }),
      }),
    );
  }

  builder.queryField("commandResults", (t) =>
    t.field({
      type: [types.CommandResultRef],
      description: "Every result the command reached so far (per stage and per processor), oldest first.",
      args: { commandId: t.arg.id({ required: true }) },
      authScopes: (_root, args) => ({ resultsOf: String(args.commandId) }),
      resolve: withErrorCodes(async (_root, args, ctx) =>
        ctx.gateway.resultsSoFar(ctx.tenantId, String(args.commandId)),
      ),
    }),
  );

  builder.subscriptionField("commandResults", (t) =>
    t.field({
      type: types.CommandResultRef,
      description:
        "The command's results: first every stage already reached, then live ones, until `until` is reached (default: every stage), a failure, or the timeout.",
      args: { commandId: t.arg.id({ required: true }), until: t.arg({ type: types.WaitFor }) },
      authScopes: (_root, args) => ({ resultsOf: String(args.commandId) }),
      subscribe: withErrorCodes(async (_root, args, ctx) => {
        const abandoned = new AbortController();
        const results = await ctx.gateway.results(ctx.tenantId, String(args.commandId), {
          ...toWait(args.until as WaitForInput | null, "ALL"),
          signal: abandoned.signal,
        });
        return endWhenAbandoned(results, abandoned);
      }),
      resolve: (result) => result as CommandResult,
    }),
  );

  return types;
}

/**
 * The transports end a subscription whose client went away (a closed socket, an aborted SSE
 * request) by calling `return()` on its iterator. An async generator waiting for its next
 * result does not see that call until a result arrives or the wait times out, and holds its
 * listener meanwhile; aborting the wait first ends it at once.
 */
export function endWhenAbandoned<T>(results: AsyncGenerator<T>, abandoned: AbortController): AsyncGenerator<T> {
  return {
    next: (...args) => results.next(...args),
    throw: (error) => {
      abandoned.abort();
      return results.throw(error);
    },
    return: (value) => {
      abandoned.abort();
      return results.return(value);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  } as AsyncGenerator<T>;
}
