/**
 * The resolvers' context from the caller's tenant: a tenant that cannot be used is the caller's
 * mistake, refused with its code over HTTP (400, or an error event over SSE) and at a
 * WebSocket's connection_init (4403), never turned into the default tenant.
 */
import { GraphQLError } from "graphql";
import { StagelineError } from "../../core/errors.ts";
import type { GraphQLContext } from "../builder.ts";
import type { CallerInfo } from "../server.ts";

/**
 * A context that cannot be built from the request (e.g. a malformed tenant ID) is the caller's
 * mistake: 400, or (`httpStatus` false) a GraphQL error in a 200 response.
 */
export function contextOrBadRequest(build: () => GraphQLContext, httpStatus = true): GraphQLContext {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof StagelineError)) throw error;
    const extensions = httpStatus ? { code: error.code, http: { status: 400 } } : { code: error.code };
    throw new GraphQLError(error.message, { extensions });
  }
}

/** Why a WebSocket's `connectionParams.tenantId` is refused (close reasons are at most 123 bytes), or undefined. */
export function tenantRefusal(
  params: Readonly<Record<string, unknown>> | undefined,
  context: (caller: CallerInfo) => GraphQLContext,
): string | undefined {
  const tenant = params?.tenantId;
  if (tenant === undefined || tenant === null) return undefined;
  if (typeof tenant !== "string") return "INVALID_TENANT: connectionParams.tenantId must be a string";
  try {
    context({ tenantId: tenant, transport: "ws" });
    return undefined;
  } catch (error) {
    if (!(error instanceof StagelineError)) throw error;
    return `${error.code}: connectionParams.tenantId ${error.message.replace(/^x-tenant-id /, "")}`.slice(0, 123);
  }
}
