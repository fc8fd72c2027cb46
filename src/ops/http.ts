/**
 * The operations endpoints beside /graphql on the same port: GET /health, GET /ready and
 * GET /metrics. They answer before the GraphQL server sees the request (no Yoga, no body, no
 * tenant), so a probe stays cheap and works whatever GraphQL is doing. Attached to the node
 * HTTP server from the composition root in one call, which also counts open subscription
 * transports (WebSocket upgrades, SSE streams) for the metrics. Every other request gets its
 * request ID here (`x-request-id`, echoed) and runs in its log context and the caller's trace.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { AuthCode } from "../auth/errors.ts";
import type { Registry } from "../core/registry.ts";
import type { AdmissionUse } from "../gateway/admission.ts";
import type { ResultBus } from "../gateway/result-bus.ts";
import { GraphQLCode } from "../graphql/errors.ts";
import { type Logger, withLogContext } from "../logger.ts";
import type { RunnerSet } from "../runners/runner-set.ts";
import type { PoolUse } from "../store/database.ts";
import { OpsQueries } from "../store/ops-queries.ts";
import type { SqlClient } from "../store/sql.ts";
import { type Readiness, readinessProbe } from "./health.ts";
import { liveSubscriptionsOf } from "./live-subscriptions.ts";
import { StagelineMetrics } from "./metrics.ts";
import { withIncomingTrace } from "./tracing.ts";

export interface OpsConfig {
  metricsEnabled: boolean;
  readyMaxLagEvents: number;
  readyMaxLagSeconds: number;
  /** Longest /ready and /metrics wait for the database. */
  probeTimeoutMs: number;
}

export interface OpsDeps {
  httpServer: Server;
  config: OpsConfig;
  sql: SqlClient;
  registry: Registry;
  runners: RunnerSet;
  bus: ResultBus;
  logger: Logger;
  /** The database pool's use, for /metrics (PostgreSQL only). */
  poolUse?: () => PoolUse;
  /** The command admission stage's use, for /metrics. */
  admission?: () => AdmissionUse;
  /** With authentication on: may this Authorization header read /ready and /metrics? (src/auth/ops-guard.ts) */
  guard?: (authorization: string | undefined) => Promise<boolean>;
}

export interface Operations {
  /** Absent when METRICS_ENABLED=false. */
  metrics?: StagelineMetrics;
  ready(): Promise<Readiness>;
}

export function attachOperations(deps: OpsDeps): Operations {
  const { httpServer, config, logger } = deps;
  const queries = new OpsQueries(deps.sql);
  const metrics = config.metricsEnabled
    ? new StagelineMetrics({
        queries,
        processors: deps.registry,
        runners: deps.runners,
        bus: deps.bus,
        logger,
        poolUse: deps.poolUse,
        admission: deps.admission,
        timeoutMs: config.probeTimeoutMs,
        subscriptions: liveSubscriptionsOf(httpServer),
      })
    : undefined;
  const ready = readinessProbe({
    queries,
    processors: deps.registry,
    runners: deps.runners,
    limits: {
      maxLagEvents: config.readyMaxLagEvents,
      maxLagSeconds: config.readyMaxLagSeconds,
      timeoutMs: config.probeTimeoutMs,
    },
  });

  const routes: Record<string, (res: ServerResponse) => Promise<void>> = {
    "/health": async (res) => json(res, 200, { status: "ok" }),
    "/ready": async (res) => {
      if (!httpServer.listening) {
        json(res, 503, { ready: false, reason: "shutting down" });
        return;
      }
      const readiness = await ready();
      json(res, readiness.ready ? 200 : 503, readiness);
    },
    ...(metrics && {
      "/metrics": async (res) => {
        const { contentType, body } = await metrics.scrape();
        res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
        res.end(body);
      },
    }),
  };

  // Take the first look at every request; anything not ours goes to the handlers already there.
  const handlers = httpServer.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  httpServer.removeAllListeners("request");
  httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?", 1)[0]!;
    const route = req.method === "GET" || req.method === "HEAD" ? routes[path] : undefined;
    if (route) {
      const allowed = path === "/health" || !deps.guard ? Promise.resolve(true) : deps.guard(req.headers.authorization);
      allowed
        .then((ok) => (ok ? route(res) : json(res, 401, { error: AuthCode.UNAUTHENTICATED })))
        .catch((err: unknown) => {
          logger.error({ err, path }, "operations endpoint failed");
          if (!res.headersSent) json(res, 500, { error: GraphQLCode.INTERNAL_SERVER_ERROR });
          else res.destroy();
        });
      return;
    }
    if (metrics && req.headers.accept?.includes("text/event-stream")) res.once("close", metrics.streamOpened("sse"));
    // Every line the request's work logs names it; a client's traceparent continues into its spans.
    const reqId = requestIdOf(req);
    res.setHeader("x-request-id", reqId);
    withLogContext({ reqId }, () =>
      withIncomingTrace(req.headers, () => {
        for (const handler of handlers) handler.call(httpServer, req, res);
      }),
    );
  });
  if (metrics) {
    httpServer.on("upgrade", (_req: IncomingMessage, socket: Socket) => {
      socket.once("close", metrics.streamOpened("ws"));
    });
    httpServer.once("close", () => metrics.close());
  }
  return { metrics, ready };
}

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** The client's `x-request-id` when it is a plain token, else a new one. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}
