/**
 * The fields the console (src/console) reads, open to any client: a tenant's recent commands
 * with their results, a command's chain as a tree (each command names the command whose saga
 * sent it), the live feed of commands as they are sent, the catalogue the send form is built
 * from (each command mutation's input, so the console needs no introspection, which production
 * turns off), and for admins the processors with their lag and dead letters, retried or
 * discarded as the CLI does. Everything but the processors is the caller's tenant only.
 */
import {
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
} from "graphql";
import type {
  ConsoleCommandView,
  ConsoleService,
  DeadLetterView,
  ProcessorView,
  Viewer,
} from "../console/console-service.ts";
import { MAX_FOLLOWED } from "../console/results-feed.ts";
import type { Registry } from "../core/registry.ts";
import type { CommandResult } from "../core/stages.ts";
import type { GraphQLContext, StagelineBuilder } from "./builder.ts";
import { endWhenAbandoned } from "./command-api.ts";
import { type defineCommandTypes, WAIT_COMMAND_ID_DEPRECATED } from "./command-types.ts";
import { withErrorCodes } from "./errors.ts";
import { shownRequestId } from "./positions.ts";

type ResultRef = ReturnType<typeof defineCommandTypes>["CommandResultRef"];

const MAX_PAGE = 100;

/** A dead letter's `processor` held the processor's ID; `processorId` names it as everywhere else. */
const PROCESSOR_DEPRECATED = "Use processorId (the same value); processor will be removed in a later release.";

export function defineConsoleApi(builder: StagelineBuilder, registry: Registry, CommandResultRef: ResultRef): void {
  const service = (ctx: GraphQLContext): ConsoleService => {
    if (!ctx.console) throw new Error("The console service is not wired into this context");
    return ctx.console;
  };
  const viewer = (ctx: GraphQLContext): Viewer => ({ tenantId: ctx.tenantId, subject: ctx.principal?.subject });

  const ConsoleCommandRef = builder.objectRef<ConsoleCommandView>("ConsoleCommand").implement({
    description: "A command as the console shows it: what was sent, where it belongs in its chain, its results.",
    fields: (t) => ({
      commandId: t.exposeID("commandId"),
      type: t.exposeString("type"),
      contextName: t.exposeString("contextName"),
      aggregateName: t.exposeString("aggregateName"),
      aggregateId: t.exposeID("aggregateId"),
      requestId: t.string({ resolve: (c, _args, ctx) => shownRequestId(ctx.positions, c.requestId) }),
      status: t.exposeString("status", { description: "PENDING (not processed yet) or DONE." }),
      async: t.exposeBoolean("async"),
      createdAt: t.field({ type: "DateTime", resolve: (c) => c.createdAt }),
      processedAt: t.field({ type: "DateTime", nullable: true, resolve: (c) => c.processedAt }),
      correlationId: t.exposeID("correlationId", { description: "The chain's root (itself for a client's command)." }),
      waitCommandId: t.id({
        description: "The chain's root: the same value as correlationId.",
        deprecationReason: WAIT_COMMAND_ID_DEPRECATED,
        resolve: (c) => c.correlationId,
      }),
      parentCommandId: t.exposeID("parentCommandId", {
        nullable: true,
        description: "The command whose event made a saga send this one; null for a client's command.",
      }),
      data: t.field({
        type: "JSON",
        description: "The command's payload: the mutation's input, as validated.",
        resolve: (c) => c.data,
      }),
      body: t.field({
        type: "JSON",
        description: "The command's payload: the same value as data.",
        deprecationReason: "Use data (the same value); body will be removed in a later release.",
        resolve: (c) => c.data,
      }),
      header: t.field({ type: "JSON", description: "Caller data recorded with it.", resolve: (c) => c.header }),
      results: t.field({
        type: [CommandResultRef],
        description: "Every result stored when it was read (stages and processor signals), oldest first.",
        resolve: (c) => c.results as CommandResult[],
      }),
    }),
  });

  builder.queryField("recentCommands", (t) =>
    t.field({
      authScopes: { member: true },
      type: [ConsoleCommandRef],
      description: `The tenant's newest commands (within the retention window), newest first; at most ${MAX_PAGE}. With AUTH_RESULTS_SENDER_ONLY, only the chains the caller sent.`,
      args: {
        first: t.arg.int({ defaultValue: 30 }),
        before: t.arg.id({ description: "Only commands older than this command ID (the next page)." }),
      },
      resolve: withErrorCodes(async (_root, args, ctx) =>
        service(ctx).recentCommands(
          viewer(ctx),
          Math.min(Math.max(args.first ?? 30, 1), MAX_PAGE),
          args.before ? String(args.before) : undefined,
        ),
      ),
    }),
  );

  builder.queryField("commandChain", (t) =>
    t.field({
      authScopes: { member: true },
      type: [ConsoleCommandRef],
      description:
        "Every command of the chain this command belongs to: its root and what sagas sent on its behalf, oldest first. Build the tree with parentCommandId. COMMAND_NOT_FOUND for another tenant's.",
      args: { commandId: t.arg.id({ required: true }) },
      resolve: withErrorCodes(async (_root, args, ctx) => service(ctx).chain(viewer(ctx), String(args.commandId))),
    }),
  );

  builder.subscriptionField("commandsSent", (t) =>
    t.field({
      authScopes: { member: true },
      type: ConsoleCommandRef,
      description:
        "The tenant's commands as they are sent (clients' and sagas'), each once, until the client leaves. A subscriber that falls far behind loses the oldest: recentCommands has them.",
      subscribe: withErrorCodes(async (_root, _args, ctx) => {
        const abandoned = new AbortController();
        return endWhenAbandoned(service(ctx).commandsSent(viewer(ctx), abandoned.signal), abandoned);
      }),
      resolve: (command) => command as ConsoleCommandView,
    }),
  );

  builder.subscriptionField("recentCommandResults", (t) =>
    t.field({
      authScopes: { member: true },
      type: CommandResultRef,
      description: `The results of the tenant's commands as they are stored, each once: first those already stored for the newest \`first\` commands (at most ${MAX_PAGE}), then new ones of those and of every command sent after (following the newest ${MAX_FOLLOWED}), until the client leaves. One stream keeps a live list's progress current. With AUTH_RESULTS_SENDER_ONLY, only the chains the caller sent.`,
      args: { first: t.arg.int({ defaultValue: 30 }) },
      subscribe: withErrorCodes(async (_root, args, ctx) => {
        const abandoned = new AbortController();
        const first = Math.min(Math.max(args.first ?? 30, 1), MAX_PAGE);
        return endWhenAbandoned(service(ctx).recentResults(viewer(ctx), first, abandoned.signal), abandoned);
      }),
      resolve: (result) => result as CommandResult,
    }),
  );

  const CommandForm = builder
    .objectRef<{ mutation: string; description: string; inputType: string | null; fields: FieldForm[] }>("CommandForm")
    .implement({
      description: "One command mutation and the shape of its input, to build a form from.",
      fields: (t) => ({
        mutation: t.exposeString("mutation"),
        description: t.exposeString("description"),
        inputType: t.exposeString("inputType", { nullable: true, description: "Null: the command takes no input." }),
        fields: t.field({
          type: "JSON",
          description:
            "[{ name, description, required, list, kind (SCALAR, ENUM, INPUT_OBJECT), type, enumValues?, fields? }]",
          resolve: (f) => f.fields,
        }),
      }),
    });

  const ProcessorInfo = builder
    .objectRef<{ id: string; kind: string; contextName: string; processorName: string }>("ProcessorInfo")
    .implement({
      description: "A processor a wait can name (WaitFor.processor).",
      fields: (t) => ({
        id: t.exposeString("id", { description: "context.name (the same as processorId)" }),
        processorId: t.exposeString("id", { description: "context.name" }),
        kind: t.exposeString("kind", { description: "SNAPSHOT, PROJECTION, EVENT_HANDLER or SAGA" }),
        contextName: t.exposeString("contextName"),
        processorName: t.exposeString("processorName", { description: "The name within its context" }),
      }),
    });

  const Catalog = builder
    .objectRef<{ commands: ReturnType<typeof commandForms>; aggregates: string[]; processors: ProcessorInfoShape[] }>(
      "ConsoleCatalog",
    )
    .implement({
      description: "What a client needs to build forms without introspection.",
      fields: (t) => ({
        commands: t.field({ type: [CommandForm], resolve: (c) => c.commands }),
        aggregates: t.exposeStringList("aggregates", {
          description: "Names aggregateHistory and aggregateState take.",
        }),
        processors: t.field({ type: [ProcessorInfo], resolve: (c) => c.processors }),
      }),
    });

  builder.queryField("consoleCatalog", (t) =>
    t.field({
      authScopes: { member: true },
      type: Catalog,
      description:
        "Every command mutation with its input's shape, the aggregates and the processors: the console's send form and wait choices. Works with introspection off.",
      resolve: (_root, _args, _ctx, info) => ({
        commands: commandForms(info.schema),
        aggregates: [...new Set(registry.commands.map((c) => c.aggregate.name))].sort(),
        processors: registry.processors.map((p) => ({
          id: p.id,
          kind: p.processor.kind,
          contextName: p.contextName,
          processorName: p.processor.name,
        })),
      }),
    }),
  );

  const Processor = builder.objectRef<ProcessorView>("ProcessorStatus").implement({
    description: "Where one processor stands: its checkpoint, how far behind the log, what it gave up on.",
    fields: (t) => ({
      id: t.exposeString("id", { description: "context.name (the same as processorId)" }),
      processorId: t.exposeString("id", { description: "context.name" }),
      kind: t.exposeString("kind"),
      contextName: t.exposeString("contextName"),
      position: t.field({ type: "BigInt", description: "The checkpoint's log position.", resolve: (p) => p.position }),
      eventsBehind: t.exposeInt("eventsBehind", { description: "Events past the checkpoint (counted up to 100,000)." }),
      secondsBehind: t.exposeFloat("secondsBehind", { description: "Age of the next event to read; 0: caught up." }),
      updatedAt: t.field({ type: "DateTime", nullable: true, resolve: (p) => p.updatedAt }),
      deadLetters: t.exposeInt("deadLetters"),
      heldTenants: t.exposeStringList("heldTenants", { description: "Tenants held after a poison event (stop mode)." }),
    }),
  });

  const DeadLetter = builder.objectRef<DeadLetterView>("DeadLetter").implement({
    description: "An event a processor gave up on after its retries.",
    fields: (t) => ({
      processorId: t.exposeString("processorId", { description: "context.name" }),
      processor: t.exposeString("processorId", { deprecationReason: PROCESSOR_DEPRECATED }),
      position: t.field({ type: "BigInt", resolve: (d) => d.position }),
      eventType: t.exposeString("eventType"),
      error: t.exposeString("error", { description: "The processor's error (admin eyes only: it may name code)." }),
      attempts: t.exposeInt("attempts"),
      parkedAt: t.field({ type: "DateTime", resolve: (d) => d.createdAt }),
    }),
  });

  builder.queryField("processors", (t) =>
    t.field({
      authScopes: { admin: true },
      type: [Processor],
      description: "Every processor's checkpoint, lag and dead letters (admin).",
      resolve: withErrorCodes(async (_root, _args, ctx) => {
        return service(ctx).processors();
      }),
    }),
  );

  builder.queryField("deadLetters", (t) =>
    t.field({
      authScopes: { admin: true },
      type: [DeadLetter],
      description: "Parked events, of one processor or all (admin).",
      args: { processor: t.arg.string({ description: "context.name; absent: every processor." }) },
      resolve: withErrorCodes(async (_root, args, ctx) => {
        return service(ctx).deadLetters(args.processor ?? undefined);
      }),
    }),
  );

  // The two ways out for a dead letter: same arguments, same answer, different operation.
  const deadLetterMutation = (
    name: "retryDeadLetter" | "discardDeadLetter",
    description: string,
    run: (console: ConsoleService, processor: string, position: bigint) => Promise<void>,
  ) =>
    builder.mutationField(name, (t) =>
      t.boolean({
        authScopes: { admin: true },
        description,
        args: {
          processor: t.arg.string({ required: true, description: "context.name" }),
          position: t.arg({ type: "BigInt", required: true }),
        },
        resolve: withErrorCodes(async (_root, args, ctx) => {
          await run(service(ctx), args.processor, args.position);
          return true;
        }),
      }),
    );
  deadLetterMutation(
    "retryDeadLetter",
    "Hands the parked event to its processor again and removes the dead letter when that succeeded (admin). Errors: UNKNOWN_PROCESSOR, DEAD_LETTER_NOT_FOUND, DEAD_LETTER_RETRY_FAILED.",
    (console, processor, position) => console.retryDeadLetter(processor, position),
  );
  deadLetterMutation(
    "discardDeadLetter",
    "Removes a dead letter without processing its event (admin). Errors: DEAD_LETTER_NOT_FOUND.",
    (console, processor, position) => console.discardDeadLetter(processor, position),
  );
}

interface ProcessorInfoShape {
  id: string;
  kind: string;
  contextName: string;
  processorName: string;
}

export interface FieldForm {
  name: string;
  description: string | null;
  required: boolean;
  list: boolean;
  kind: "SCALAR" | "ENUM" | "INPUT_OBJECT";
  type: string;
  enumValues?: string[];
  fields?: FieldForm[];
}

/** The command mutations (those taking `command: CommandOptions`) and their inputs, from the schema itself. */
function commandForms(schema: GraphQLSchema) {
  const mutations = Object.values(schema.getMutationType()?.getFields() ?? {});
  return mutations
    .filter((m) => m.args.some((a) => a.name === "command" && getNamedType(a.type).name === "CommandOptions"))
    .map((m) => {
      const input = m.args.find((a) => a.name === "input");
      const named = input ? getNamedType(input.type) : undefined;
      return {
        mutation: m.name,
        description: m.description ?? "",
        inputType: named?.name ?? null,
        fields: named && isInputObjectType(named) ? describeFields(named, 0) : [],
      };
    })
    .sort((a, b) => a.mutation.localeCompare(b.mutation));
}

function describeFields(type: GraphQLInputType, depth: number): FieldForm[] {
  const named = getNamedType(type);
  if (!isInputObjectType(named) || depth > 5) return [];
  return Object.values(named.getFields()).map((field) => {
    const required = isNonNullType(field.type);
    const inner = required ? (field.type as { ofType: GraphQLInputType }).ofType : field.type;
    const list = isListType(inner);
    const base = getNamedType(field.type);
    const form: FieldForm = {
      name: field.name,
      description: field.description ?? null,
      required,
      list,
      kind: isEnumType(base) ? "ENUM" : isInputObjectType(base) ? "INPUT_OBJECT" : "SCALAR",
      type: base.name,
    };
    if (isEnumType(base)) form.enumValues = base.getValues().map((v) => v.name);
    if (isInputObjectType(base)) form.fields = describeFields(base, depth + 1);
    return form;
  });
}
