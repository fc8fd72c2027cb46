/**
 * GraphQL over WebSocket (graphql-ws) on the HTTP server's path: sockets admitted by address,
 * origin, tenant and credential; each operation parsed, validated and executed through Yoga's
 * envelop (so its plugins, limits included, run on WebSocket too), its errors failing only that
 * operation. The socket transport itself (buffers, slow readers) is ws-transport.ts.
 */
import type { Server } from "node:http";
import { GraphQLError, getOperationAST } from "graphql";
import type { ServerOptions } from "graphql-ws";
import type { YogaServerInstance } from "graphql-yoga";
import { WebSocketServer } from "ws";
import type { RequestRate } from "../../auth/limits.ts";
import { credentialKey, type Principal } from "../../auth/principal.ts";
import type { GraphQLContext } from "../builder.ts";
import { GraphQLCode } from "../errors.ts";
import { GRAPHQL_PATH, type GraphQLServerOptions } from "../server.ts";
import { admitWebSocket, webSocketCaller } from "./auth-context.ts";
import { asGraphQLError, giveCodes } from "./stable-errors.ts";
import { contextOrBadRequest, tenantRefusal } from "./tenant-context.ts";
import { tooManyOperations } from "./ws-limits.ts";
import { webSocketOriginCheck } from "./ws-origin.ts";
import { SocketCounts, serveGraphQLWs, underAddressLimit, WS_TOO_MANY_SOCKETS } from "./ws-transport.ts";

export interface WebSocketsDeps {
  httpServer: Server;
  yoga: YogaServerInstance<Record<string, unknown>, GraphQLContext>;
  options: GraphQLServerOptions;
  rate: RequestRate;
}

export function serveWebSockets({ httpServer, yoga, options, rate }: WebSocketsDeps) {
  const { logger } = options;
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
      // Errors of a result (a variable of the wrong type) get the codes they get over HTTP.
      onNext: (_ctx, _id, _payload, _args, result) => giveCodes(result),
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
        // graphql-ws would refuse it itself, with an error that has no code.
        if (!getOperationAST(document, payload.operationName)) {
          return [
            new GraphQLError(
              `Unable to identify the operation${payload.operationName ? ` ${payload.operationName}` : ""}`,
              {
                extensions: { code: GraphQLCode.OPERATION_RESOLUTION_FAILURE },
              },
            ),
          ];
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
  return { wss, wsServer };
}

type OperationResult = ReturnType<NonNullable<ServerOptions["execute"]>>;

interface EnvelopedRoot {
  execute: (args: unknown) => OperationResult;
  subscribe: (args: unknown) => OperationResult;
}
