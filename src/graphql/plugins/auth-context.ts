/**
 * Authentication and tenant choice at each transport's door, before any GraphQL runs:
 * - HTTP and SSE: `Authorization` and `x-tenant-id` headers, refused with 401 UNAUTHENTICATED
 *   or 403 FORBIDDEN;
 * - graphql-ws: `connectionParams.authorization` (or `token`) and `connectionParams.tenantId`,
 *   checked at connection_init; a refusal closes the socket with 4401 or 4403 (never a throw in
 *   onSubscribe, which would close every operation of the socket with a generic code).
 * Also ends a running subscription when its credential expires (an envelop plugin, so it runs
 * on every transport), and refuses new operations on a socket whose credential has expired.
 */
import type { IncomingMessage } from "node:http";
import { GraphQLError } from "graphql";
import type { Context as WsContext } from "graphql-ws";
import type { Plugin } from "graphql-yoga";
import type { Authenticator } from "../../auth/authenticator.ts";
import { AuthCode, Forbidden, RateLimited, Unauthenticated } from "../../auth/errors.ts";
import type { RequestRate } from "../../auth/limits.ts";
import { chooseTenant, credentialKey, isExpired, type Principal } from "../../auth/principal.ts";

export interface Caller {
  /** The tenant asked for (checked against the credential's grants), or undefined: the default. */
  tenantId: string | undefined;
  principal: Principal | undefined;
}

/** The caller of one HTTP request (queries, mutations, SSE subscriptions). */
export async function httpCaller(request: Request, authenticator: Authenticator, rate?: RequestRate): Promise<Caller> {
  try {
    const principal = await authenticator.authenticate(request.headers.get("authorization") ?? undefined);
    if (principal && isExpired(principal)) throw new Unauthenticated("The credential has expired");
    if (principal && rate) await rate.consume(credentialKey(principal));
    return { principal, tenantId: chooseTenant(principal, request.headers.get("x-tenant-id") ?? undefined) };
  } catch (error) {
    throw asHttpError(error);
  }
}

/** graphql-ws close codes for a refused connection_init (as graphql-ws itself uses 4403). */
export const WS_UNAUTHORIZED = 4401;
export const WS_FORBIDDEN = 4403;

type Extra = { request: IncomingMessage; caller?: Caller };

/**
 * For graphql-ws `onConnect`: true when the connection is admitted (the caller is kept on the
 * socket for every operation); false when it was refused and closed here.
 */
export async function admitWebSocket(
  ctx: WsContext<Record<string, unknown> | undefined, Extra>,
  authenticator: Authenticator,
  close: (code: number, reason: string) => void,
): Promise<boolean> {
  const params = ctx.connectionParams ?? {};
  const raw = params.authorization ?? params.Authorization ?? (params.token ? `Bearer ${params.token}` : undefined);
  const tenant = params.tenantId;
  try {
    const principal = await authenticator.authenticate(typeof raw === "string" ? raw : undefined);
    if (principal && isExpired(principal)) throw new Unauthenticated("The credential has expired");
    ctx.extra.caller = {
      principal,
      tenantId: chooseTenant(principal, typeof tenant === "string" ? tenant : undefined),
    };
    return true;
  } catch (error) {
    if (error instanceof Unauthenticated) close(WS_UNAUTHORIZED, "Unauthorized");
    else if (error instanceof Forbidden) close(WS_FORBIDDEN, "Forbidden");
    else throw error;
    return false;
  }
}

/** The caller admitted at connection_init, for one operation; errors are returned, not thrown. */
export async function webSocketCaller(
  ctx: WsContext<Record<string, unknown> | undefined, Extra>,
  rate?: RequestRate,
): Promise<Caller | GraphQLError> {
  const caller = ctx.extra.caller ?? { principal: undefined, tenantId: undefined };
  if (caller.principal && isExpired(caller.principal)) {
    return new GraphQLError("The credential has expired; reconnect with a new one", {
      extensions: { code: AuthCode.UNAUTHENTICATED },
    });
  }
  if (caller.principal && rate) {
    try {
      await rate.consume(credentialKey(caller.principal));
    } catch (error) {
      if (!(error instanceof RateLimited)) throw error;
      return new GraphQLError(error.message, { extensions: { code: error.code } });
    }
  }
  return caller;
}

function asHttpError(error: unknown): unknown {
  if (error instanceof Unauthenticated) {
    return new GraphQLError(error.message, {
      extensions: { code: error.code, http: { status: 401, headers: { "www-authenticate": "Bearer" } } },
    });
  }
  if (error instanceof Forbidden) {
    return new GraphQLError(error.message, { extensions: { code: error.code, http: { status: 403 } } });
  }
  if (error instanceof RateLimited) {
    const retryAfter = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
    return new GraphQLError(error.message, {
      extensions: { code: error.code, http: { status: 429, headers: { "retry-after": retryAfter } } },
    });
  }
  return error;
}

/**
 * Ends a subscription when the credential it runs under expires: the stream gets one
 * UNAUTHENTICATED error and completes. Works for SSE and graphql-ws alike (envelop level).
 */
export function useCredentialExpiry(): Plugin<{ principal?: Principal }> {
  return {
    onSubscribe({ args }) {
      const expiresAt = (args.contextValue as { principal?: Principal }).principal?.expiresAt;
      if (!expiresAt) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in (result as object))) return;
          setResult(untilExpiry(result as AsyncIterable<unknown>, expiresAt) as never);
        },
      };
    },
  };
}

/**
 * The source's results until the credential expires, then one UNAUTHENTICATED error. A plain
 * iterator, not an async generator: a generator waiting for its next result would queue a
 * `return()` (the client completed or left) behind that wait, holding the source, its wait
 * slot and its listener until a result arrived; here `return()` reaches the source at once.
 */
function untilExpiry<T>(source: AsyncIterable<T>, expiresAt: Date): AsyncIterableIterator<T | object> {
  const iterator = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), Math.max(0, expiresAt.getTime() - Date.now()));
  });
  const finish = async (): Promise<IteratorResult<T | object>> => {
    if (!finished) {
      finished = true;
      clearTimeout(timer);
      await iterator.return?.();
    }
    return { done: true, value: undefined };
  };
  return {
    async next() {
      if (finished) return { done: true, value: undefined };
      const next = await Promise.race([iterator.next(), expired]);
      if (next === "expired") {
        void finish();
        finished = true;
        return {
          done: false,
          value: {
            errors: [
              new GraphQLError("The credential has expired; subscribe again with a new one", {
                extensions: { code: AuthCode.UNAUTHENTICATED },
              }),
            ],
          },
        };
      }
      if (next.done) await finish();
      return next;
    },
    return: finish,
    throw: async (error: unknown) => {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
