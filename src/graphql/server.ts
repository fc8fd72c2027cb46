/**
 * One HTTP server, one path (/graphql): queries and mutations over HTTP, subscriptions over
 * graphql-ws (WebSocket) and over SSE (Yoga's own), GraphiQL served from an installed package.
 * This file composes; each concern (errors, tenants, body size, WebSocket, CSRF, CORS, …) is a
 * file of its own under ./plugins, as graphql-yoga's own plugins are.
 */
import { createServer, type Server } from "node:http";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import type { GraphQLSchema } from "graphql";
import { createYoga, type YogaServerInstance } from "graphql-yoga";
import type { Authenticator } from "../auth/authenticator.ts";
import { RequestRate } from "../auth/limits.ts";
import type { Principal } from "../auth/principal.ts";
import { GRAPHIQL_EXAMPLES } from "../console/graphiql-examples.ts";
import type { Logger } from "../logger.ts";
import { liveSubscriptionsOf } from "../ops/live-subscriptions.ts";
import type { GraphQLContext } from "./builder.ts";
import { GraphQLCode } from "./errors.ts";
import { httpCaller, useCredentialExpiry, useRefusedSubscriptionsAsStreams } from "./plugins/auth-context.ts";
import { admitBody, reply } from "./plugins/body-limit.ts";
import { corsFromAllowList } from "./plugins/cors.ts";
import { useJsonOnlyPosts } from "./plugins/csrf.ts";
import { InFlightRequests } from "./plugins/in-flight.ts";
import { useIntrospectionSwitch } from "./plugins/introspection.ts";
import { useLiveSubscriptions } from "./plugins/live-subscriptions.ts";
import { yogaLogging } from "./plugins/logging.ts";
import { useOverloadStatus } from "./plugins/overload-status.ts";
import { keepTypedErrors, useStableErrorCodes } from "./plugins/stable-errors.ts";
import { contextOrBadRequest } from "./plugins/tenant-context.ts";
import { serveWebSockets } from "./plugins/ws-server.ts";
import type { WsTransportLimits } from "./plugins/ws-transport.ts";
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
    logging: yogaLogging(logger),
    cors: corsFromAllowList(options.security.corsOrigins),
    plugins: [
      useJsonOnlyPosts(),
      useIntrospectionSwitch(options.security.introspection),
      useCredentialExpiry(),
      useRefusedSubscriptionsAsStreams(),
      // Looked up when a subscription starts: the HTTP server is made below.
      useLiveSubscriptions(() => liveSubscriptionsOf(httpServer)),
      useStableErrorCodes(),
      useOverloadStatus(),
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

  const inFlight = new InFlightRequests();
  let accepting = true;
  const httpServer = createServer((req, res) => {
    if (!accepting) {
      // A request on a kept-alive connection after shutdown began: refused, never half-served.
      reply(res, 503, GraphQLCode.SHUTTING_DOWN, "The server is shutting down; retry shortly", { "retry-after": "1" });
      req.resume();
      return;
    }
    inFlight.track(req, res);
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

  const { wss, wsServer } = serveWebSockets({ httpServer, yoga, options, rate });

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
    settle: (timeoutMs) => inFlight.settle(timeoutMs),
    async close() {
      this.stopAccepting();
      for (const client of wss.clients) client.close(1001, "Server shutting down");
      await wsServer.dispose();
      httpServer.closeAllConnections();
      await closed;
    },
  };
}
