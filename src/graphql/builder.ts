/**
 * The Pothos schema builder every part of the API (and every bounded context's read side)
 * adds to. Created per schema, so a test can build an API over any set of contexts. Every root
 * field declares who may call it (`authScopes`, checked before its resolver runs).
 */
import SchemaBuilder from "@pothos/core";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import type { AggregateHistory } from "../aggregates/history.ts";
import type { AggregateLoader } from "../aggregates/loader.ts";
import { Forbidden } from "../auth/errors.ts";
import type { Principal } from "../auth/principal.ts";
import type { AuthScopes, ScopeLoaders } from "../auth/scopes.ts";
import type { ConsoleService } from "../console/console-service.ts";
import type { Registry } from "../core/registry.ts";
import type { CommandGateway } from "../gateway/gateway.ts";
import type PrismaTypes from "../generated/pothos-prisma-types.ts";
import { getDatamodel } from "../generated/pothos-prisma-types.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { ProjectionRebuilds } from "../runners/rebuild.ts";
import type { TenantPositions } from "./positions.ts";

/** What every resolver gets. Built per request (HTTP) or per operation (WebSocket). */
export interface GraphQLContext {
  tenantId: string;
  gateway: CommandGateway;
  prisma: PrismaClient;
  registry: Registry;
  /** Loads an aggregate's state (latest snapshot + later events). */
  aggregates: Pick<AggregateLoader, "load">;
  /** Aggregates' events and past states, from the log. */
  history: AggregateHistory;
  /** Projection rebuilds (admin). */
  rebuilds: ProjectionRebuilds;
  /** Waits (bounded) until the projections have passed this command or position: read-your-writes. */
  readAfter(options: { commandId?: string | null; chainOf?: string | null; position?: bigint | null }): Promise<void>;
  /** Log positions as this tenant sees them: tokens (src/graphql/positions.ts). */
  positions: TenantPositions;
  /** Caller details recorded in each command's header. */
  caller: Record<string, unknown>;
  /** The verified credential; undefined when authentication is off. */
  principal?: Principal;
  /** What the console's fields read (src/graphql/console-api.ts); absent in contexts built without it. */
  console?: ConsoleService;
  /** Throws FORBIDDEN unless the caller may run operational (admin) operations. */
  requireAdmin(): void;
  /** The caller's authorization scopes, which fields declare with `authScopes` (src/auth/scopes.ts). */
  scopes: ScopeLoaders;
}

export function createBuilder() {
  const builder = new SchemaBuilder<{
    Context: GraphQLContext;
    AuthScopes: AuthScopes;
    PrismaTypes: PrismaTypes;
    Scalars: {
      BigInt: { Input: bigint; Output: bigint | number | string };
      Position: { Input: string; Output: string };
      DateTime: { Input: Date; Output: Date | string };
      JSON: { Input: unknown; Output: unknown };
    };
    DefaultFieldNullability: false;
    DefaultInputFieldRequiredness: false;
  }>({
    // Scope auth before Prisma, so a refused field runs nothing (Pothos' advice); relay stays first.
    plugins: [RelayPlugin, ScopeAuthPlugin, PrismaPlugin],
    scopeAuth: {
      authScopes: (ctx) => ctx.scopes,
      // A subscription is checked once, when it starts, not per event.
      authorizeOnSubscribe: true,
      // FORBIDDEN, as every other refusal of a valid credential (nothing ran, nothing stored).
      unauthorizedError: (_parent, _ctx, info) =>
        new Forbidden(`The credential does not allow ${info.parentType.name}.${info.fieldName}`),
    },
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
