/**
 * Log positions at the GraphQL edge (issue 13): the gateway and the store keep global bigint
 * positions; a tenant sees them only as `Position` tokens bound to its tenant
 * (src/core/position-token.ts), in results, history and the IDs of saga commands, and hands
 * them back in `minPosition`. Admin-only fields (checkpoints, dead letters) keep raw positions.
 */
import { GraphQLError } from "graphql";
import type { PositionTokens } from "../core/position-token.ts";
import { causationIdShown, requestIdShown } from "../core/request-ids.ts";
import type { StagelineBuilder } from "./builder.ts";
import { GraphQLCode } from "./errors.ts";

/** The caller's tenant's view of positions (GraphQLContext.positions). */
export interface TenantPositions {
  encode(position: bigint): string;
  /** INVALID_POSITION unless the token is one this tenant was given. */
  decode(token: string): bigint;
}

export const tenantPositions = (tokens: PositionTokens, tenantId: string): TenantPositions => ({
  encode: (position) => tokens.encode(tenantId, position),
  decode: (token) => tokens.decode(tenantId, token),
});

/** A request ID as the tenant sees it: a saga's carries a token, not the position. */
export const shownRequestId = (positions: TenantPositions, id: string): string => requestIdShown(id, positions.encode);

/** A causation ID as the tenant sees it: a saga command's `event:<token>`, not the position. */
export const shownCausationId = (positions: TenantPositions, id: string): string =>
  causationIdShown(id, positions.encode);

/** Longer than any token (48 characters); a longer string is refused before any decoding. */
const MAX_TOKEN_LENGTH = 256;

export function definePositionScalar(builder: StagelineBuilder) {
  builder.scalarType("Position", {
    description:
      "A place in the event log, as this tenant sees it: an opaque token, valid only for the tenant it was handed to (INVALID_POSITION otherwise). Tokens do not order.",
    serialize: (value) => String(value),
    parseValue: (value) => {
      if (typeof value !== "string" || value.length > MAX_TOKEN_LENGTH) {
        throw new GraphQLError("Position must be a token this API handed out", {
          extensions: { code: GraphQLCode.BAD_USER_INPUT },
        });
      }
      return value;
    },
  });
}
