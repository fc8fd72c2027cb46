/**
 * The security settings (authentication, tenants from credentials, cross-site defences,
 * introspection), read from the environment beside the rest of the configuration. Kept apart
 * from src/config.ts so that each defence's knobs sit in one place; docs/security.md explains
 * each one.
 */
import { z } from "zod";
import { CoreCode, StartupError } from "../core/errors.ts";

export type AuthMethod = "jwt" | "apikey";

export interface JwtSettings {
  /** HS256 shared secret (also what `stageline token` signs with). */
  secret: string | undefined;
  /** A PEM public key (SPKI) for RS256/ES256/EdDSA tokens. */
  publicKey: string | undefined;
  /** A JWKS URL (the identity provider's keys, fetched and cached by jose). */
  jwksUrl: string | undefined;
  /** Algorithms accepted with publicKey or jwksUrl. */
  algorithms: string[];
  issuer: string | undefined;
  audience: string | undefined;
  clockSkewSeconds: number;
}

export interface SecurityConfig {
  /** Empty: no authentication (loopback only unless allowOpen). */
  methods: AuthMethod[];
  jwt: JwtSettings;
  /** The claim (JWT) holding the tenants the credential grants: a string or an array. */
  tenantClaim: string;
  /** The claim holding the roles (a string, a space-separated string or an array). */
  rolesClaim: string;
  /** The role operational mutations and subscriptions need when authentication is on. */
  adminRole: string;
  /** A command's results (query and subscription) only for the credential that sent it. */
  resultsSenderOnly: boolean;
  /** Start on a non-loopback HOST without authentication anyway. */
  allowOpen: boolean;
  /** Origins (scheme://host[:port]) a browser page may call from; none by default. */
  corsOrigins: string[];
  introspection: boolean;
  /** Operations running at once on one graphql-ws socket; past it: TOO_MANY_OPERATIONS. */
  wsMaxOperations: number;
  /** Sockets and slow readers (src/graphql/plugins/ws-transport.ts). */
  ws: {
    maxBufferedBytes: number;
    slowReaderMs: number;
    maxSocketsPerAddress: number;
    maxSocketsPerCredential: number;
  };
  /** Per credential (authentication on): waits running at once, requests per second. */
  maxWaitsPerCredential: number;
  ratePerSecond: number;
  /** The longest `timeoutMs` a wait may ask for; past it: TIMEOUT_TOO_LONG. */
  maxWaitTimeoutMs: number;
  /** A bearer token for /ready and /metrics (scrapers), besides an admin credential. */
  opsMetricsToken: string | undefined;
}

const list = (text: string | undefined) =>
  (text ?? "")
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

const schema = z.object({
  AUTH_MODE: z
    .string()
    .default("none")
    .refine((v) => list(v).every((m) => ["none", "jwt", "apikey"].includes(m)), "none, jwt, apikey or jwt,apikey"),
  AUTH_JWT_SECRET: z.string().min(32, "at least 32 characters").optional(),
  AUTH_JWT_PUBLIC_KEY: z.string().optional(),
  AUTH_JWKS_URL: z.url().optional(),
  AUTH_JWT_ALGORITHMS: z.string().default("RS256,ES256,EdDSA"),
  AUTH_JWT_ISSUER: z.string().optional(),
  AUTH_JWT_AUDIENCE: z.string().optional(),
  AUTH_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  AUTH_TENANT_CLAIM: z.string().min(1).default("tenants"),
  AUTH_ROLES_CLAIM: z.string().min(1).default("roles"),
  AUTH_ADMIN_ROLE: z.string().min(1).default("admin"),
  AUTH_ALLOW_OPEN: z.enum(["true", "false"]).default("false"),
  AUTH_RESULTS_SENDER_ONLY: z.enum(["true", "false"]).default("false"),
  CORS_ORIGINS: z.string().optional(),
  GRAPHQL_INTROSPECTION: z.enum(["true", "false"]).optional(),
  WS_MAX_OPERATIONS: z.coerce.number().int().min(1).default(100),
  WS_MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  WS_SLOW_READER_MS: z.coerce.number().int().min(10).default(10_000),
  WS_MAX_SOCKETS_PER_ADDRESS: z.coerce.number().int().min(1).default(1000),
  WS_MAX_SOCKETS_PER_CREDENTIAL: z.coerce.number().int().min(1).default(20),
  MAX_WAITS_PER_CREDENTIAL: z.coerce.number().int().min(1).default(200),
  RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(1).default(200),
  OPS_METRICS_TOKEN: z.string().min(32, "at least 32 characters").optional(),
  WAIT_MAX_TIMEOUT_MS: z.coerce.number().int().min(1).max(300_000).default(300_000),
});

export function loadSecurityConfig(env: NodeJS.ProcessEnv, production: boolean): SecurityConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new StartupError(CoreCode.CONFIG_INVALID, `Invalid configuration: ${problems}. See .env.example.`);
  }
  const e = parsed.data;
  const methods = list(e.AUTH_MODE).filter((m): m is AuthMethod => m !== "none");
  const jwt: JwtSettings = {
    secret: e.AUTH_JWT_SECRET,
    publicKey: e.AUTH_JWT_PUBLIC_KEY?.replace(/\\n/g, "\n"),
    jwksUrl: e.AUTH_JWKS_URL,
    algorithms: list(e.AUTH_JWT_ALGORITHMS),
    issuer: e.AUTH_JWT_ISSUER,
    audience: e.AUTH_JWT_AUDIENCE,
    clockSkewSeconds: e.AUTH_CLOCK_SKEW_SECONDS,
  };
  if (methods.includes("jwt") && !jwt.secret && !jwt.publicKey && !jwt.jwksUrl) {
    throw new StartupError(
      CoreCode.CONFIG_INVALID,
      "AUTH_MODE=jwt needs AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL. See .env.example.",
    );
  }
  const corsOrigins = list(e.CORS_ORIGINS);
  for (const origin of corsOrigins) {
    if (origin === "*" || !/^https?:\/\/[^/]+$/.test(origin)) {
      throw new StartupError(
        CoreCode.CONFIG_INVALID,
        `CORS_ORIGINS: ${origin} is not an origin like https://app.example.com`,
      );
    }
  }
  return {
    methods: [...new Set(methods)],
    jwt,
    tenantClaim: e.AUTH_TENANT_CLAIM,
    rolesClaim: e.AUTH_ROLES_CLAIM,
    adminRole: e.AUTH_ADMIN_ROLE,
    allowOpen: e.AUTH_ALLOW_OPEN === "true",
    resultsSenderOnly: e.AUTH_RESULTS_SENDER_ONLY === "true",
    corsOrigins,
    introspection: e.GRAPHQL_INTROSPECTION ? e.GRAPHQL_INTROSPECTION === "true" : !production,
    wsMaxOperations: e.WS_MAX_OPERATIONS,
    ws: {
      maxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
      slowReaderMs: e.WS_SLOW_READER_MS,
      maxSocketsPerAddress: e.WS_MAX_SOCKETS_PER_ADDRESS,
      maxSocketsPerCredential: e.WS_MAX_SOCKETS_PER_CREDENTIAL,
    },
    maxWaitsPerCredential: e.MAX_WAITS_PER_CREDENTIAL,
    ratePerSecond: e.RATE_LIMIT_PER_SECOND,
    maxWaitTimeoutMs: e.WAIT_MAX_TIMEOUT_MS,
    opsMetricsToken: e.OPS_METRICS_TOKEN,
  };
}
