/**
 * The Pothos schema builder every part of the API (and every bounded context's read side)
 * adds to. Created per schema, so a test can build an API over any set of contexts.
 */
import SchemaBuilder from "@pothos/core";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import type { Principal } from "../auth/principal.ts";
import type { ConsoleService } from "../console/console-service.ts";
import type { AggregateHistory } from "../gateway/aggregate-history.ts";
import type { AggregateProcessor } from "../gateway/aggregate-processor.ts";
import type { CommandGateway } from "../gateway/gateway.ts";
import type { Registry } from "../gateway/registry.ts";
import type PrismaTypes from "../generated/pothos-prisma-types.ts";
import { getDatamodel } from "../generated/pothos-prisma-types.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { ProjectionRebuilds } from "../runners/rebuild.ts";

/** What every resolver gets. Built per request (HTTP) or per operation (WebSocket). */
export interface GraphQLContext {
  tenantId: string;
  gateway: CommandGateway;
  prisma: PrismaClient;
  registry: Registry;
  aggregates: AggregateProcessor;
  /** Aggregates' events and past states, from the log. */
  history: AggregateHistory;
  /** Projection rebuilds (admin). */
  rebuilds: ProjectionRebuilds;
  /** Waits (bounded) until the projections have passed this command or position: read-your-writes. */
  readAfter(options: { commandId?: string | null; position?: bigint | null }): Promise<void>;
  /** Caller details recorded in each command's header. */
  caller: Record<string, unknown>;
  /** The verified credential; undefined when authentication is off. */
  principal?: Principal;
  /** What the console's fields read (src/graphql/console-api.ts); absent in contexts built without it. */
  console?: ConsoleService;
  /** Throws FORBIDDEN unless the caller may run operational (admin) operations. */
  requireAdmin(): void;
}

export function createBuilder() {
  const builder = new SchemaBuilder<{
    Context: GraphQLContext;
    PrismaTypes: PrismaTypes;
    Scalars: {
      BigInt: { Input: bigint; Output: bigint | number | string };
      DateTime: { Input: Date; Output: Date | string };
      JSON: { Input: unknown; Output: unknown };
    };
    DefaultFieldNullability: false;
    DefaultInputFieldRequiredness: false;
  }>({
    plugins: [RelayPlugin, PrismaPlugin],
    defaultFieldNullability: false,
    relay: { clientMutationId: "omit", cursorType: "String" },
    prisma: {
      client: (ctx) => ctx.prisma,
      dmmf: getDatamodel(),
      filterConnectionTotalCount: true,
      onUnusedQuery: null,
    },
  });
  builder.queryType({});
  builder.mutationType({});
  builder.subscriptionType({});
  return builder;
}

export type StagelineBuilder = ReturnType<typeof createBuilder>;
