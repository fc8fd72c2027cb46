/**
 * Every setting Stageline reads, from the environment, validated once at start-up.
 * `.env.example` documents each; keep the two in step.
 */
import { z } from "zod";
import { loadSecurityConfig, type SecurityConfig } from "./auth/config.ts";
import { StartupError } from "./core/errors.ts";
import type { QueryLimits } from "./graphql/query-limits.ts";
import { LOG_LEVELS } from "./logger.ts";
import type { OpsConfig } from "./ops/http.ts";
import type { TracingConfig } from "./ops/tracing.ts";

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

const schema = z.object({
  DATABASE_URL: z.string().optional(),
  STAGELINE_DATA_DIR: z.string().default(".data/stageline"),
  DATABASE_POOL_SIZE: int(10, 1),
  HOST: z.string().default("127.0.0.1"),
  PORT: int(4000),
  NODE_ENV: z.string().default("development"),
  GRAPHIQL: z.enum(["true", "false"]).optional(),
  CONSOLE: z.enum(["true", "false"]).optional(),
  DEFAULT_TENANT: z.string().min(1).default("default"),
  COMMAND_PROCESSING: z.enum(["sync", "async"]).default("sync"),
  COMMAND_WAIT_TIMEOUT_MS: int(30_000, 1),
  // A wait's first store re-read for results another process stored (5× later for own commands).
  COMMAND_WAIT_POLL_MS: int(200, 10),
  COMMAND_MAX_RETRIES: int(100, 0),
  COMMAND_ORPHAN_AFTER_MS: int(10_000, 100),
  COMMAND_CLAIM_TTL_MS: int(10_000, 100),
  // A queued command that failed this often is set aside (FAILED) with a COMMAND_FAILED answer.
  COMMAND_MAX_FAILURES: int(10, 1),
  COMMIT_GROUP_MAX_COMMANDS: int(100, 1),
  COMMIT_GROUP_CONCURRENCY: int(1, 1),
  AGGREGATE_CACHE_SIZE: int(10_000, 0),
  // Admission control (src/gateway/admission.ts): commands doing storage work at once (absent:
  // 10 per pool connection, at least a group commit's), and the queue behind them; past either, OVERLOADED. A queue wait
  // as long as a query may wait for a pool connection (openDatabase's connect timeout).
  COMMAND_ADMISSION_MAX_IN_FLIGHT: z.coerce.number().int().min(1).optional(),
  COMMAND_ADMISSION_QUEUE: int(1_000, 0),
  COMMAND_ADMISSION_QUEUE_WAIT_MS: int(5_000, 1),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 100),
  RETENTION_HOURS: int(24, 1),
  READ_YOUR_WRITES_TIMEOUT_MS: int(2_000, 1),
  MAX_BODY_BYTES: int(1_048_576, 1024),
  GRAPHQL_MAX_DEPTH: int(10, 1),
  GRAPHQL_MAX_COST: int(5_000, 1),
  GRAPHQL_MAX_ALIASES: int(15, 0),
  GRAPHQL_MAX_DIRECTIVES: int(10, 0),
  GRAPHQL_MAX_TOKENS: int(2_000, 1),
  RUNNER_BATCH_SIZE: int(100, 1),
  RUNNER_POLL_MS: int(500, 10),
  RUNNER_MAX_ATTEMPTS: int(5, 1),
  // Reactions of one saga batch in flight at once (README "Sagas").
  SAGA_CONCURRENCY: int(64, 1),
  // stop: holds only the poison event's tenant for that processor (src/runners/runner.ts).
  RUNNER_ON_POISON: z.enum(["dead-letter", "stop"]).default("dead-letter"),
  // Scale-out (PostgreSQL): runner leases and cross-process signals; see docs/scale-out.md.
  RUNNER_LEASE_TTL_MS: int(9_000, 300),
  CROSS_PROCESS_SIGNALS: z.enum(["notify", "redis", "off"]).default("notify"),
  // With CROSS_PROCESS_SIGNALS=redis: the Redis that carries the signals (redis://host:port).
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  // The pub/sub channel: one per deployment sharing that Redis.
  REDIS_SIGNAL_CHANNEL: z.string().min(1).default("stageline_signals"),
  // A transaction left idle this long is ended by the server (default: the lease TTL); 0: never.
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(0).optional(),
  // Operations endpoints (/metrics, /ready): see the README's Operations section.
  METRICS_ENABLED: z.enum(["true", "false"]).default("true"),
  READY_MAX_LAG_EVENTS: int(10_000, 0),
  READY_MAX_LAG_SECONDS: int(60, 0),
  PROBE_TIMEOUT_MS: int(2_000, 50),
  // Logs and tracing: see docs/operations.md.
  LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default("stageline"),
  POSITION_TOKEN_KEY: z.string().min(32).optional(),
});

export type EnvConfig = z.infer<typeof schema>;

export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  poolSize: number;
  host: string;
  port: number;
  production: boolean;
  graphiql: boolean;
  /** The console page at /console (its GraphQL fields stay, behind their authorization). */
  console: boolean;
  defaultTenant: string;
  processing: "sync" | "async";
  waitTimeoutMs: number;
  waitPollMs: number;
  maxRetries: number;
  /** A synchronous command still unprocessed this long after it was sent lost its request (a crash): a worker takes it. */
  orphanAfterMs: number;
  /** A queued command's claim lives this long unless renewed: a crashed process's commands are taken again after it. */
  claimTtlMs: number;
  /** A queued command whose processing threw this often is set aside (FAILED) with a COMMAND_FAILED answer. */
  commandMaxFailures: number;
  /** Group commit: the most commands one transaction commits, and transactions committing at once. */
  commitGroup: { maxCommands: number; concurrency: number };
  /** Aggregates whose state is kept in memory between commands (0: load every time). */
  aggregateCacheSize: number;
  /**
   * Admission control: commands doing storage work at once (absent: derived from the pool's
   * size), commands queued behind them, and the longest queue wait; past either, OVERLOADED.
   */
  admission: { maxInFlight?: number; maxQueued: number; maxQueueWaitMs: number };
  /** SIGTERM: the longest a graceful stop may take before the process exits anyway. */
  shutdownTimeoutMs: number;
  retentionMs: number;
  readYourWritesTimeoutMs: number;
  maxBodyBytes: number;
  /** Size and shape limits on every GraphQL document, on every transport. */
  queryLimits: QueryLimits;
  /**
   * Several processes on one PostgreSQL (docs/scale-out.md): a runner lease lives `leaseTtlMs`
   * unless renewed (a dead holder's processors move within about 4/3 of it); `signals`:
   * LISTEN/NOTIFY (or Redis pub/sub at `redisUrl`) carries stage signals and appends to the
   * other processes; `idleInTransactionTimeoutMs` (default: the lease TTL, 0: off): the server
   * ends a transaction left idle that long, so a stalled process (SIGSTOP, a frozen VM) cannot
   * hold row locks and the xmin horizon that every other process's runners wait on.
   */
  scaleOut: {
    leaseTtlMs: number;
    signals: "notify" | "redis" | "off";
    redisUrl?: string;
    /** The Redis pub/sub channel (one per deployment sharing that Redis). */
    redisChannel?: string;
    idleInTransactionTimeoutMs?: number;
  };
  runner: {
    batchSize: number;
    pollMs: number;
    maxAttempts: number;
    onPoison: "dead-letter" | "stop";
    /** Reactions of one saga batch in flight at once (per aggregate still in log order). */
    sagaConcurrency?: number;
  };
  /** /metrics on or off; when /ready reports a lagging runner; how long probes wait for the database. */
  ops: OpsConfig;
  /** The log level (LOG_LEVEL; absent: info, silent under NODE_ENV=test). */
  logLevel: string | undefined;
  /** OpenTelemetry tracing: off unless an OTLP endpoint is set. */
  tracing: TracingConfig;
  /** Authentication, tenants from credentials, CORS, introspection: src/auth/config.ts. */
  security: SecurityConfig;
  /** The key of the position tokens tenants see (src/core/position-token.ts); absent: one kept in the database. */
  positionTokenKey: string | undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new StartupError("CONFIG_INVALID", `Invalid configuration: ${problems}. See .env.example.`);
  }
  const e = parsed.data;
  if (e.CROSS_PROCESS_SIGNALS === "redis" && !e.REDIS_URL)
    throw new StartupError(
      "CONFIG_INVALID",
      "Invalid configuration: CROSS_PROCESS_SIGNALS=redis needs REDIS_URL (redis://host:port). See .env.example.",
    );
  const production = e.NODE_ENV === "production";
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: e.STAGELINE_DATA_DIR,
    poolSize: e.DATABASE_POOL_SIZE,
    host: e.HOST,
    port: e.PORT,
    production,
    graphiql: e.GRAPHIQL ? e.GRAPHIQL === "true" : !production,
    console: e.CONSOLE ? e.CONSOLE === "true" : !production,
    defaultTenant: e.DEFAULT_TENANT,
    processing: e.COMMAND_PROCESSING,
    waitTimeoutMs: e.COMMAND_WAIT_TIMEOUT_MS,
    waitPollMs: e.COMMAND_WAIT_POLL_MS,
    maxRetries: e.COMMAND_MAX_RETRIES,
    orphanAfterMs: e.COMMAND_ORPHAN_AFTER_MS,
    claimTtlMs: e.COMMAND_CLAIM_TTL_MS,
    commandMaxFailures: e.COMMAND_MAX_FAILURES,
    commitGroup: { maxCommands: e.COMMIT_GROUP_MAX_COMMANDS, concurrency: e.COMMIT_GROUP_CONCURRENCY },
    aggregateCacheSize: e.AGGREGATE_CACHE_SIZE,
    admission: {
      ...(e.COMMAND_ADMISSION_MAX_IN_FLIGHT !== undefined ? { maxInFlight: e.COMMAND_ADMISSION_MAX_IN_FLIGHT } : {}),
      maxQueued: e.COMMAND_ADMISSION_QUEUE,
      maxQueueWaitMs: e.COMMAND_ADMISSION_QUEUE_WAIT_MS,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    retentionMs: e.RETENTION_HOURS * 3_600_000,
    readYourWritesTimeoutMs: e.READ_YOUR_WRITES_TIMEOUT_MS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    queryLimits: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxCost: e.GRAPHQL_MAX_COST,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
    },
    runner: {
      batchSize: e.RUNNER_BATCH_SIZE,
      pollMs: e.RUNNER_POLL_MS,
      maxAttempts: e.RUNNER_MAX_ATTEMPTS,
      onPoison: e.RUNNER_ON_POISON,
      sagaConcurrency: e.SAGA_CONCURRENCY,
    },
    scaleOut: {
      leaseTtlMs: e.RUNNER_LEASE_TTL_MS,
      signals: e.CROSS_PROCESS_SIGNALS,
      ...(e.REDIS_URL ? { redisUrl: e.REDIS_URL, redisChannel: e.REDIS_SIGNAL_CHANNEL } : {}),
      ...(e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS !== undefined
        ? { idleInTransactionTimeoutMs: e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS }
        : {}),
    },
    ops: {
      metricsEnabled: e.METRICS_ENABLED === "true",
      readyMaxLagEvents: e.READY_MAX_LAG_EVENTS,
      readyMaxLagSeconds: e.READY_MAX_LAG_SECONDS,
      probeTimeoutMs: e.PROBE_TIMEOUT_MS,
    },
    logLevel: e.LOG_LEVEL,
    tracing: { otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME },
    security: loadSecurityConfig(env, production),
    positionTokenKey: e.POSITION_TOKEN_KEY,
  };
}
