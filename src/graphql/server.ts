/**
 * One HTTP server, one path (/graphql): queries and mutations over HTTP, subscriptions over
 * graphql-ws (WebSocket) and over SSE (Yoga's own), GraphiQL served from an installed package.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import { WebSocketServer } from "ws";
import type { Logger } from "../logger.ts";
import type { GraphQLContext } from "./builder.ts";
import { maskErrors } from "./errors.ts";

export const GRAPHQL_PATH = "/graphql";

export interface CallerInfo {
  /** From the `x-tenant-id` header (HTTP) or `connectionParams.tenantId` (WebSocket). */
  tenantId: string | undefined;
  transport: "http" | "ws";
}

export interface GraphQLServerOptions {
  schema: GraphQLSchema;
  /** Builds the resolvers' context for one request or operation. */
  context(caller: CallerInfo): GraphQLContext;
  graphiql: boolean;
  production: boolean;
  maxBodyBytes: number;
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
  const yoga = createYoga<Record<string, unknown>, GraphQLContext>({
    schema: options.schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: options.graphiql ? { title: "Stageline", subscriptionsProtocol: "WS" } : false,
    renderGraphiQL,
    maskedErrors: { isDev: !options.production, maskError: maskErrors },
    logging: {
      debug: (...args) => logger.debug({ args }, "yoga"),
      info: (...args) => logger.info({ args }, "yoga"),
      warn: (...args) => logger.warn({ args }, "yoga"),
      error: (...args) => logger.error({ args }, "yoga"),
    },
    plugins: [useStableErrorCodes()],
    context: ({ request }) =>
      options.context({ tenantId: request.headers.get("x-tenant-id") ?? undefined, transport: "http" }),
  });

  // Requests being answered, for a graceful stop. SSE streams are left out: they end only when
  // closed, which close() does.
  const inFlight = new Set<Promise<void>>();
  let accepting = true;
  const httpServer = createServer((req, res) => {
    if (!accepting) {
      // A request on a kept-alive connection after shutdown began: refused, never half-served.
      reply(res, 503, "SHUTTING_DOWN", "The server is shutting down; retry shortly", { "retry-after": "1" });
      req.resume();
      return;
    }
    if (rejectOversized(req, res, options.maxBodyBytes)) return;
    if (!req.headers.accept?.includes("text/event-stream")) {
      const done = new Promise<void>((resolve) => res.once("close", resolve));
      inFlight.add(done);
      void done.then(() => inFlight.delete(done));
    }
    void yoga(req, res);
  });

  const wss = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH, maxPayload: options.maxBodyBytes });
  const wsServer = useServer<Record<string, unknown> | undefined, { request: IncomingMessage }>(
    {
      // Yoga's envelop-wrapped execute/subscribe travel in rootValue, so its plugins run on WebSocket too.
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
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
        const errors = validate(schema, document);
        if (errors.length > 0) {
          for (const e of errors) (e.extensions as Record<string, unknown>).code ??= "GRAPHQL_VALIDATION_FAILED";
          return errors;
        }
        const tenant = ctx.connectionParams?.tenantId;
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: options.context({ tenantId: typeof tenant === "string" ? tenant : undefined, transport: "ws" }),
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
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

type OperationResult = ReturnType<NonNullable<Parameters<typeof useServer>[0]["execute"]>>;

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
          if (extensions && !extensions.code) extensions.code = error.path ? "INTERNAL_SERVER_ERROR" : "BAD_USER_INPUT";
        }
      }
    },
  };
}

function asGraphQLError(error: unknown, code: string): GraphQLError {
  const e = error instanceof GraphQLError ? error : new GraphQLError(String(error));
  (e.extensions as Record<string, unknown>).code ??= code;
  return e;
}

/**
 * Refuses a body larger than the limit before anything reads it. Bodies without a length
 * (chunked) are refused too: a limit we cannot check before parsing is no limit.
 */
function rejectOversized(req: IncomingMessage, res: ServerResponse, maxBytes: number): boolean {
  if (req.method !== "POST") return false;
  const length = req.headers["content-length"];
  let status = 0;
  let message = "";
  if (length === undefined) {
    if (req.headers["transfer-encoding"]) {
      status = 411;
      message = "Send the request body with a Content-Length header";
    }
  } else if (Number(length) > maxBytes) {
    status = 413;
    message = `The request body is ${length} bytes; the limit is ${maxBytes}`;
  }
  if (!status) return false;
  reply(res, status, status === 413 ? "PAYLOAD_TOO_LARGE" : "LENGTH_REQUIRED", message);
  req.resume();
  return true;
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
