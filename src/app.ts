/**
 * The composition root: opens the database, applies migrations, wires the gateway, the
 * workers and the GraphQL server. Everything a process runs is started and stopped here.
 */

import { AggregateHistory } from "./aggregates/history.ts";
import { AggregateLoader } from "./aggregates/loader.ts";
import { createAuthenticator } from "./auth/authenticator.ts";
import { checkExposure } from "./auth/exposure.ts";
import { limitWaits } from "./auth/limited-gateway.ts";
import { WaitSlots } from "./auth/limits.ts";
import { opsGuard } from "./auth/ops-guard.ts";
import { credentialKey, type Principal, requireRole } from "./auth/principal.ts";
import { scopesFor, subjectOf } from "./auth/scopes.ts";
import type { Config } from "./config.ts";
import { ConsoleService } from "./console/console-service.ts";
import { serveConsole } from "./console/static.ts";
import type { BoundedContext } from "./core/context.ts";
import { CoreCode, InvalidTenant, ReadNotReady } from "./core/errors.ts";
import { positionTokens } from "./core/position-token.ts";
import { Registry } from "./core/registry.ts";
import { contexts as defaultContexts } from "./domains/index.ts";
import { Admission, defaultMaxInFlight } from "./gateway/admission.ts";
import { shedLog } from "./gateway/admission-log.ts";
import { AggregateProcessor } from "./gateway/aggregate-processor.ts";
import { CommandWorker } from "./gateway/command-worker.ts";
import { CrossProcessSignals } from "./gateway/cross-process-signals.ts";
import { CommandGateway } from "./gateway/gateway.ts";
import { ResultBus } from "./gateway/result-bus.ts";
import type { GraphQLContext } from "./graphql/builder.ts";
import { tenantPositions } from "./graphql/positions.ts";
import { buildSchema } from "./graphql/schema.ts";
import { createGraphQLServer, type GraphQLServer } from "./graphql/server.ts";
import { addLogFields, logger as defaultLogger, type Logger } from "./logger.ts";
import { attachOperations } from "./ops/http.ts";
import { startConfiguredTracing } from "./ops/tracing.ts";
import { RunnerLeases } from "./runners/leases.ts";
import { ProjectionRebuilds } from "./runners/rebuild.ts";
import { RunnerSet } from "./runners/runner-set.ts";
import { ApiKeyStore } from "./store/api-key-store.ts";
import { CommandQueue } from "./store/command-queue.ts";
import { CommandStore } from "./store/command-store.ts";
import { ConsoleQueries } from "./store/console-queries.ts";
import { type Database, openDatabase } from "./store/database.ts";
import { parseDatabaseUrl } from "./store/database-url.ts";
import { EventLog } from "./store/event-log.ts";
import { openLeaseConnection } from "./store/lease-connection.ts";
import { LeaseStore } from "./store/lease-store.ts";
import { migrate } from "./store/migrations.ts";
import { OpsQueries } from "./store/ops-queries.ts";
import { PgSignalTransport } from "./store/pg-signals.ts";
import { PositionKeyStore } from "./store/position-key-store.ts";
import { RedisSignalTransport } from "./store/redis-signals.ts";
import { ResultStore } from "./store/result-store.ts";
import { SnapshotStore } from "./store/snapshot-store.ts";

export interface AppOptions {
  config: Config;
  contexts?: readonly BoundedContext[];
  /** An already open database (tests); otherwise opened from the configuration. */
  database?: Database;
  logger?: Logger;
}

export interface App {
  config: Config;
  db: Database;
  registry: Registry;
  gateway: CommandGateway;
  /** Bounds the client commands doing storage work at once (OVERLOADED past it). */
  admission: Admission;
  events: EventLog;
  runners: RunnerSet;
  /** PostgreSQL: the runner leases this process holds (absent on PGlite: one process). */
  leases: RunnerLeases | undefined;
  /** PostgreSQL: stage signals and appends to and from other processes (absent on PGlite or when off). */
  crossProcess: CrossProcessSignals | undefined;
  /** Rebuilds projections without downtime (admin API, CLI). */
  rebuilds: ProjectionRebuilds;
  /** The one aggregate loader: latest snapshot + later events, optionally up to a version. */
  aggregates: AggregateLoader;
  /** Processes commands against their aggregates (the gateway's write path). */
  processor: AggregateProcessor;
  server: GraphQLServer;
  /** Starts the workers and listens; resolves with the URL served. */
  start(): Promise<{ url: string; port: number }>;
  /** Graceful stop: no new requests, in-flight commands finished, sockets closed, database closed. */
  stop(): Promise<void>;
}

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export async function createApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const logger = options.logger ?? defaultLogger;
  if (config.logLevel) logger.level = config.logLevel;
  const tracing = startConfiguredTracing(config.tracing, logger);
  const db =
    options.database ??
    (await openDatabase(parseDatabaseUrl(config.databaseUrl, config.dataDir), {
      poolSize: config.poolSize,
      idleInTransactionTimeoutMs: config.scaleOut.idleInTransactionTimeoutMs ?? config.scaleOut.leaseTtlMs,
    }));
  await migrate(db.sql, { logger });
  // One key for every process and restart: a token handed out yesterday still decodes today.
  const positionKey = config.positionTokenKey
    ? Buffer.from(config.positionTokenKey, "utf8")
    : await new PositionKeyStore(db.sql).load();
  const positionCodec = positionTokens(positionKey);

  const registry = new Registry(options.contexts ?? defaultContexts, { snapshots: true });
  const events = new EventLog(db.sql);
  const commands = new CommandStore(db.sql, config.retentionMs);
  const results = new ResultStore(db.sql, config.retentionMs);
  const snapshots = new SnapshotStore(db.sql);
  const bus = new ResultBus();
  const loader = new AggregateLoader({ events, snapshots });
  const processor = new AggregateProcessor({
    sql: db.sql,
    events,
    loader,
    commands,
    results,
    registry,
    bus,
    logger,
    maxRetries: config.maxRetries,
    cacheSize: config.aggregateCacheSize,
    groupCommit: config.commitGroup,
  });
  // Scale-out: on PostgreSQL each processor runs in one process at a time, under a lease,
  // renewed on a connection of its own so that a saturated pool cannot starve the renewals.
  const leaseSql =
    db.sql.engine === "postgres" && db.connectionConfig
      ? openLeaseConnection(db.connectionConfig, { ttlMs: config.scaleOut.leaseTtlMs })
      : undefined;
  const leases =
    db.sql.engine === "postgres"
      ? new RunnerLeases(new LeaseStore(leaseSql ?? db.sql), { ttlMs: config.scaleOut.leaseTtlMs }, logger)
      : undefined;
  const worker = new CommandWorker(
    { queue: new CommandQueue(db.sql), processor, logger, sql: db.sql, results, bus },
    {
      pollMs: config.runner.pollMs,
      batchSize: config.runner.batchSize,
      orphanAfterMs: config.orphanAfterMs,
      claimTtlMs: config.claimTtlMs,
      maxFailures: config.commandMaxFailures,
      // One name per process in leases and claims.
      ...(leases ? { owner: leases.owner } : {}),
    },
  );
  // Client commands beyond what the pool can serve are refused with OVERLOADED (admission.ts).
  const admission = new Admission(
    {
      maxInFlight:
        config.admission.maxInFlight ??
        defaultMaxInFlight(db.poolUse?.().max ?? config.poolSize, config.commitGroup.maxCommands),
      maxQueued: config.admission.maxQueued,
      maxQueueWaitMs: config.admission.maxQueueWaitMs,
    },
    shedLog(logger),
  );
  const gateway = new CommandGateway(
    { registry, commands, results, bus, processor, logger, onQueued: () => worker.notify(), admission },
    { processing: config.processing, waitTimeoutMs: config.waitTimeoutMs, waitPollMs: config.waitPollMs },
  );

  // Scale-out: stage signals and appends reach the other processes by LISTEN/NOTIFY, or Redis.
  const crossProcess =
    db.target.engine === "postgres" && config.scaleOut.signals !== "off"
      ? new CrossProcessSignals({
          transport:
            config.scaleOut.signals === "redis" && config.scaleOut.redisUrl
              ? new RedisSignalTransport(config.scaleOut.redisUrl, config.scaleOut.redisChannel)
              : new PgSignalTransport(db.target.url, db.sql),
          bus,
          results,
          events,
          logger,
        })
      : undefined;
  const runners = new RunnerSet(
    {
      sql: db.sql,
      prisma: db.prisma,
      events,
      snapshots,
      results,
      bus,
      registry,
      gateway,
      aggregates: loader,
      logger,
      leases,
    },
    config.runner,
  );

  const rebuilds = new ProjectionRebuilds(
    { db, events, registry, checkpoints: runners.checkpoints, deadLetters: runners.deadLetters, logger },
    config.runner,
  );

  const history = new AggregateHistory({ registry, events, commands, loader });

  const waitSlots = new WaitSlots(config.security.maxWaitsPerCredential);
  const anonymousSlots = new WaitSlots(Number.POSITIVE_INFINITY);

  const consoleService = new ConsoleService({
    queries: new ConsoleQueries(db.sql),
    ops: new OpsQueries(db.sql),
    bus,
    resultsSenderOnly: config.security.resultsSenderOnly,
    app: { runners, registry, db },
  });

  const authenticator = createAuthenticator(config.security, { apiKeys: new ApiKeyStore(db.sql), logger });
  const context = (caller: { tenantId: string | undefined; principal?: Principal | undefined }): GraphQLContext => {
    const { principal } = caller;
    const tenantId = caller.tenantId ?? config.defaultTenant;
    if (!TENANT_ID.test(tenantId)) {
      throw new InvalidTenant("x-tenant-id must be 1-100 letters, digits, '.', '_' or '-'");
    }
    addLogFields({ tenantId });
    return {
      tenantId,
      // Waits counted per credential, none longer than WAIT_MAX_TIMEOUT_MS (src/auth/limits.ts).
      gateway: limitWaits(gateway, {
        slots: principal ? waitSlots : anonymousSlots,
        key: principal ? credentialKey(principal) : "",
        maxTimeoutMs: config.security.maxWaitTimeoutMs,
      }),
      prisma: db.prisma,
      registry,
      aggregates: loader,
      history,
      rebuilds,
      console: consoleService,
      caller: principal ? { subject: principal.subject, via: principal.via } : {},
      principal,
      positions: tenantPositions(positionCodec, tenantId),
      requireAdmin: () => requireRole(principal, config.security.adminRole),
      scopes: scopesFor(principal, config.security, async (id) =>
        subjectOf((await gateway.command(tenantId, id)).header),
      ),
      async readAfter({ commandId, chainOf, position }) {
        if (commandId) {
          const result = await gateway.waitFor(tenantId, commandId, {
            stage: "PROJECTED",
            timeoutMs: config.readYourWritesTimeoutMs,
          });
          if (!result.succeeded) throw new ReadNotReady(commandId, result.errorCode);
        }
        if (chainOf) {
          // A saga command refused inside the chain (CHAIN_FAILED) still ends the wait well: its
          // compensation is part of the chain, and the read models then show the chain's
          // outcome, which is what the reader asked for. A refused root, as with afterCommand,
          // has nothing to read after.
          const result = await gateway.waitFor(tenantId, chainOf, {
            stage: "PROJECTED",
            chain: true,
            timeoutMs: config.readYourWritesTimeoutMs,
          });
          if (!result.succeeded && result.errorCode !== CoreCode.CHAIN_FAILED) {
            throw new ReadNotReady(chainOf, result.errorCode);
          }
        }
        if (position !== undefined && position !== null) {
          if (!(await runners.waitForProjections(position, config.readYourWritesTimeoutMs))) {
            throw new ReadNotReady(`at position ${position}`, "WAIT_TIMEOUT");
          }
        }
      },
    };
  };

  const server = createGraphQLServer({
    schema: buildSchema(registry),
    context,
    graphiql: config.graphiql,
    production: config.production,
    maxBodyBytes: config.maxBodyBytes,
    queryLimits: config.queryLimits,
    security: { authenticator, ...config.security },
    logger,
  });
  if (config.console) serveConsole(server.httpServer);
  attachOperations({
    httpServer: server.httpServer,
    config: config.ops,
    sql: db.sql,
    registry,
    runners,
    bus,
    logger,
    poolUse: db.poolUse,
    admission: () => admission.use(),
    guard: opsGuard(authenticator, {
      metricsToken: config.security.opsMetricsToken,
      adminRole: config.security.adminRole,
    }),
  });

  const purge = setInterval(
    () => {
      void Promise.all([commands.purgeExpired(), results.purgeExpired()]).catch((err: unknown) =>
        logger.warn({ err }, "purging expired commands failed"),
      );
    },
    Math.min(config.retentionMs, 3_600_000),
  );
  purge.unref();

  let stopping: Promise<void> | undefined;
  return {
    config,
    db,
    registry,
    gateway,
    admission,
    events,
    runners,
    leases,
    crossProcess,
    rebuilds,
    aggregates: loader,
    processor,
    server,
    async start() {
      checkExposure(config.security, config.host, logger);
      await crossProcess?.start();
      worker.start();
      await runners.start();
      const { url, port } = await server.listen(config.port, config.host);
      logger.info({ url, database: db.description, processing: config.processing }, "stageline listening");
      return { url, port };
    },
    stop() {
      stopping ??= (async () => {
        clearInterval(purge);
        // In order: no new connections; requests and commands in flight finish (their callers
        // get answers); the runners catch up with the log and checkpoint; commands their sagas
        // sent finish; only then are subscriptions closed (1001), having seen every stage
        // reached. Each wait gets 40% of the budget, so the whole stays within it.
        server.stopAccepting();
        await server.settle(config.shutdownTimeoutMs * 0.4);
        await gateway.drain();
        await worker.stop();
        await runners.stop(config.shutdownTimeoutMs * 0.4);
        await leaseSql?.close().catch(() => undefined);
        await gateway.drain();
        await server.close();
        await crossProcess?.stop();
        if (!options.database) await db.close();
        await tracing?.shutdown();
        logger.info("stageline stopped");
      })();
      return stopping;
    },
  };
}
