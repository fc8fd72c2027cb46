/**
 * One HTTP server, one path (/graphql): queries and mutations over HTTP, subscriptions over
 * graphql-ws (WebSocket) and over SSE (Yoga's own), GraphiQL served from an installed package.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { PothosValidationError } from "@pothos/core";
import { GraphQLError, type GraphQLSchema } from "graphql";
import type { ServerOptions } from "graphql-ws";
import { createYoga, type MaskError, maskError, type Plugin, type YogaServerInstance } from "graphql-yoga";
import { WebSocketServer } from "ws";
import type { Authenticator } from "../auth/authenticator.ts";
import { RequestRate } from "../auth/limits.ts";
import { credentialKey, type Principal } from "../auth/principal.ts";
import { GRAPHIQL_EXAMPLES } from "../console/graphiql-examples.ts";
import { StagelineError } from "../core/errors.ts";
import type { Logger } from "../logger.ts";
import type { GraphQLContext } from "./builder.ts";
import { GraphQLCode, toGraphQLError } from "./errors.ts";
import { admitWebSocket, httpCaller, useCredentialExpiry, webSocketCaller } from "./plugins/auth-context.ts";
import { corsFromAllowList } from "./plugins/cors.ts";
import { useJsonOnlyPosts } from "./plugins/csrf.ts";
import { useIntrospectionSwitch } from "./plugins/introspection.ts";
import { tooManyOperations } from "./plugins/ws-limits.ts";
import { webSocketOriginCheck } from "./plugins/ws-origin.ts";
import {
  SocketCounts,
  serveGraphQLWs,
  underAddressLimit,
  WS_TOO_MANY_SOCKETS,
  type WsTransportLimits,
} from "./plugins/ws-transport.ts";
import { type QueryLimits, queryLimitPlugins } from "./query-limits.ts";

export const GRAPHQL_PATH = "/graphql";

export interface CallerInfo {
  /** From the `x-tenant-id` header (HTTP) or `connectionParams.tenantId` (WebSocket). */
  tenantId: string | undefined;
  transport: "http" | "ws";
  /** The verified credential; undefined when authentication is off (AUTH_MODE=none). */
  principal?: Principal | undefined;
}

export interface GraphQLServerOptions {
  schema: GraphQLSchema;
  /** Builds the resolvers' context for one request or operation. */
  context(caller: CallerInfo): GraphQLContext;
  graphiql: boolean;
  production: boolean;
  maxBodyBytes: number;
  /** Limits on every document (GRAPHQL_MAX_* in .env.example). */
  queryLimits: QueryLimits;
  /** Authentication, the CORS allow-list and introspection (docs/security.md). */
  security: {
    authenticator: Authenticator;
    corsOrigins: readonly string[];
    introspection: boolean;
    wsMaxOperations: number;
    /** Requests per second per credential (RATE_LIMIT_PER_SECOND). */
    ratePerSecond: number;
    /** Sockets, buffers and slow readers (docs/security.md, "Exhaustion"). */
    ws: WsTransportLimits;
  };
  logger: Logger;
}

export interface GraphQLServer {
  httpServer: Server;
  yoga: YogaServerInstance<Record<string, unknown>, GraphQLContext>;
  listen(port: number, host: string): Promise<{ port: number; url: string }>;
  /** Refuses new connections; what is in flight (requests, subscriptions) goes on. */
  stopAccepting(): void;
  /** Resolves once every request in flight was answered (SSE streams aside), or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void>;
  /** Stops accepting, closes every WebSocket with 1001 (going away), ends SSE streams. */
  close(): Promise<void>;
}

export function createGraphQLServer(options: GraphQLServerOptions): GraphQLServer {
  const { logger } = options;
  const rate = new RequestRate(options.security.ratePerSecond);
  const yoga = createYoga<Record<string, unknown>, GraphQLContext>({
    schema: options.schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: options.graphiql ? { title: "Stageline", subscriptionsProtocol: "WS", ...GRAPHIQL_EXAMPLES } : false,
    renderGraphiQL,
    maskedErrors: { isDev: !options.production, maskError: keepTypedErrors },
    logging: {
      debug: (...args) => logger.debug({ args }, "yoga"),
      info: (...args) => logger.info({ args }, "yoga"),
      warn: (...args) => logger.warn({ args }, "yoga"),
      error: (...args) => logger.error({ args }, "yoga"),
    },
    cors: corsFromAllowList(options.security.corsOrigins),
    plugins: [
      useJsonOnlyPosts(),
      useIntrospectionSwitch(options.security.introspection),
      useCredentialExpiry(),
      useStableErrorCodes(),
      ...queryLimitPlugins(options.queryLimits),
    ],
    context: async ({ request }) => {
      const caller = await httpCaller(request, options.security.authenticator, rate);
      return contextOrBadRequest(
        () => options.context({ ...caller, transport: "http" }),
        // graphql-sse's client reads only a 200 event stream (anything else is a bare network
        // error): over SSE the refusal travels as the stream's `next` event, then `complete`.
        !request.headers.get("accept")?.includes("text/event-stream"),
      );
    },
  });

  // Requests being answered, for a graceful stop. SSE streams are left out: they end only when
  // closed, which close() does.
  const inFlight = new Set<Promise<void>>();
  let accepting = true;
  const httpServer = createServer((req, res) => {
    if (!accepting) {
      // A request on a kept-alive connection after shutdown began: refused, never half-served.
      reply(res, 503, GraphQLCode.SHUTTING_DOWN, "The server is shutting down; retry shortly", { "retry-after": "1" });
      req.resume();
      return;
    }
    if (!req.headers.accept?.includes("text/event-stream")) {
      const done = new Promise<void>((resolve) => res.once("close", resolve));
      inFlight.add(done);
      void done.then(() => inFlight.delete(done));
    }
    admitBody(req, res, options.maxBodyBytes).then(
      (admitted) => {
        if (admitted) void yoga(req, res);
      },
      (err: unknown) => {
        // The client went away while sending its body: there is no one to answer.
        logger.debug({ err }, "request body aborted");
        res.destroy();
      },
    );
  });

  const wsLimits = options.security.ws;
  const perAddress = new SocketCounts();
  const perCredential = new SocketCounts();
  const originCheck = webSocketOriginCheck(options.security.corsOrigins);
  const wss = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    maxPayload: options.maxBodyBytes,
    verifyClient: (info, answer) =>
      underAddressLimit(perAddress, wsLimits, info.req)
        ? originCheck(info, answer)
        : answer(false, 429, "TOO_MANY_SOCKETS from this address"),
  });
  const wsServer = serveGraphQLWs<Record<string, unknown> | undefined>(
    {
      // A bad tenant is refused at connection_init (4403 with the reason), never acknowledged:
      // otherwise every operation of the socket would fail, or a non-string tenant would
      // quietly become the default one. Then the credential, which may grant that tenant or not.
      onConnect: async (ctx) => {
        const refusal = tenantRefusal(ctx.connectionParams, options.context);
        if (refusal) {
          logger.debug({ refusal }, "websocket refused at connection_init");
          ctx.extra.socket.close(4403, refusal);
          return false;
        }
        const admitted = await admitWebSocket(ctx, options.security.authenticator, (code, reason) =>
          ctx.extra.socket.close(code, reason),
        );
        const principal = (ctx.extra as { caller?: { principal?: Principal } }).caller?.principal;
        if (!admitted || !principal) return admitted;
        const key = credentialKey(principal);
        if (perCredential.count(key) >= wsLimits.maxSocketsPerCredential) {
          logger.info({ subject: principal.subject }, "websocket refused: too many sockets for the credential");
          ctx.extra.socket.close(WS_TOO_MANY_SOCKETS, "TOO_MANY_SOCKETS for this credential");
          return false;
        }
        ctx.extra.socket.once("close", perCredential.add(key));
        return true;
      },
      // Yoga's envelop-wrapped execute/subscribe travel in rootValue, so its plugins run on WebSocket too.
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const overCap = tooManyOperations(ctx, options.security.wsMaxOperations);
        if (overCap) return [overCap];
        const { schema, execute, subscribe, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.request.socket,
          params: payload,
        });
        // Returning errors fails this operation only; throwing would close the whole socket.
        let document: ReturnType<typeof parse>;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [asGraphQLError(error, "GRAPHQL_PARSE_FAILED")];
        }
        let errors: readonly GraphQLError[];
        try {
          errors = validate(schema, document);
        } catch (error) {
          // The query-limit plugins throw out of validate to stop at the first limit passed.
          return [asGraphQLError(error, "GRAPHQL_VALIDATION_FAILED")];
        }
        if (errors.length > 0) {
          for (const e of errors) (e.extensions as Record<string, unknown>).code ??= "GRAPHQL_VALIDATION_FAILED";
          return [...errors];
        }
        const caller = await webSocketCaller(ctx, rate);
        if (caller instanceof GraphQLError) return [caller];
        let contextValue: GraphQLContext;
        try {
          contextValue = contextOrBadRequest(() => options.context({ ...caller, transport: "ws" }));
        } catch (error) {
          return [asGraphQLError(error, GraphQLCode.BAD_REQUEST)];
        }
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
    { limits: wsLimits, perAddress, logger },
  );

  let closed: Promise<void> | undefined;
  return {
    httpServer,
    yoga,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(port, host, () => {
          const address = httpServer.address();
          const actual = typeof address === "object" && address ? address.port : port;
          const shownHost = host === "0.0.0.0" || host === "::" ? "localhost" : host;
          resolve({ port: actual, url: `http://${shownHost}:${actual}${GRAPHQL_PATH}` });
        });
      });
    },
    stopAccepting() {
      // No new connections or requests; requests already in flight, and subscriptions, go on.
      accepting = false;
      closed ??= new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
    },
    async settle(timeoutMs) {
      const deadline = AbortSignal.timeout(timeoutMs);
      while (inFlight.size > 0 && !deadline.aborted) {
        await Promise.race([
          Promise.allSettled([...inFlight]),
          new Promise((resolve) => deadline.addEventListener("abort", resolve, { once: true })),
        ]);
      }
    },
    async close() {
      this.stopAccepting();
      for (const client of wss.clients) client.close(1001, "Server shutting down");
      await wsServer.dispose();
      httpServer.closeAllConnections();
      await closed;
    },
  };
}

type OperationResult = ReturnType<NonNullable<ServerOptions["execute"]>>;

interface EnvelopedRoot {
  execute: (args: unknown) => OperationResult;
  subscribe: (args: unknown) => OperationResult;
}

/**
 * Every error leaves with a code: those graphql-js raises without one are bad input (e.g. a
 * variable of the wrong type), except errors inside resolvers, which are internal.
 */
function useStableErrorCodes(): Plugin {
  return {
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) {
        const errors = (single as { errors?: GraphQLError[] }).errors;
        for (const error of errors ?? []) {
          const extensions = error.extensions as Record<string, unknown>;
          if (extensions && !extensions.code) extensions.code = codeOf(error);
        }
      }
    },
  };
}

/**
 * Yoga masks every error that is not a GraphQLError. Ours carry a stable code wherever they are
 * thrown (a resolver, a read-your-writes wait, a context), so they leave with it instead of as
 * INTERNAL_SERVER_ERROR; anything else is masked as usual.
 */
const keepTypedErrors: MaskError = (error, message, isDev) => {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  const typed = toGraphQLError(original);
  if (typed === original) return maskError(error, message, isDev);
  const { message: text, extensions } = typed as GraphQLError;
  return error instanceof GraphQLError
    ? new GraphQLError(text, { nodes: error.nodes, path: error.path, originalError: original as Error, extensions })
    : (typed as GraphQLError);
};

/**
 * A context that cannot be built from the request (e.g. a malformed tenant ID) is the caller's
 * mistake: 400, or (`httpStatus` false) a GraphQL error in a 200 response.
 */
function contextOrBadRequest(build: () => GraphQLContext, httpStatus = true): GraphQLContext {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof StagelineError)) throw error;
    const extensions = httpStatus ? { code: error.code, http: { status: 400 } } : { code: error.code };
    throw new GraphQLError(error.message, { extensions });
  }
}

/** Why a WebSocket's `connectionParams.tenantId` is refused (close reasons are at most 123 bytes), or undefined. */
function tenantRefusal(
  params: Readonly<Record<string, unknown>> | undefined,
  context: GraphQLServerOptions["context"],
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

/** Pothos refuses bad connection arguments (a cursor it cannot decode, a negative `first`) inside the resolver. */
const codeOf = (error: GraphQLError) =>
  !error.path || error.originalError instanceof PothosValidationError
    ? GraphQLCode.BAD_USER_INPUT
    : GraphQLCode.INTERNAL_SERVER_ERROR;

function asGraphQLError(error: unknown, code: string): GraphQLError {
  const e = error instanceof GraphQLError ? error : new GraphQLError(String(error));
  (e.extensions as Record<string, unknown>).code ??= code;
  return e;
}

/**
 * Enforces the body size limit before Yoga reads anything. A declared Content-Length over the
 * limit is refused at once (Node guarantees the body is no longer than it says). A body without
 * one (chunked) is read here, counting bytes as they arrive, and refused the moment it passes
 * the limit; a body within it is handed to Yoga already read (`req.body`, which Yoga's node
 * adapter takes instead of the stream). Returns false when the request was answered here.
 */
async function admitBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<boolean> {
  if (req.method !== "POST") return true;
  const length = req.headers["content-length"];
  if (length !== undefined) {
    if (Number(length) <= maxBytes) return true;
    refuseTooLarge(req, res, `The request body is ${length} bytes; the limit is ${maxBytes}`);
    return false;
  }
  if (!req.headers["transfer-encoding"]) return true;
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > maxBytes) {
      refuseTooLarge(req, res, `The request body is over the limit of ${maxBytes} bytes`);
      return false;
    }
    chunks.push(chunk);
  }
  (req as IncomingMessage & { body?: Buffer }).body = Buffer.concat(chunks);
  return true;
}

function refuseTooLarge(req: IncomingMessage, res: ServerResponse, message: string): void {
  reply(res, 413, GraphQLCode.PAYLOAD_TOO_LARGE, message);
  // Drain (and drop) what the client is still sending, so that it gets to read the answer.
  req.resume();
}

/** Answers with one GraphQL-shaped error and closes the connection. */
function reply(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { "content-type": "application/json", connection: "close", ...headers });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}
