import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

export const ENVIRONMENTS = ['development', 'test', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const LOG_LEVELS = [
  'trace',
  'debug',
  'metrics',
  'info',
  'business',
  'warn',
  'error',
  'fatal',
  'silent',
] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_CONSOLE_FORMATS = ['pretty', 'json', 'off'] as const;
export type LogConsoleFormat = (typeof LOG_CONSOLE_FORMATS)[number];

export type DatabaseConfig = (
  { readonly type: 'postgres'; readonly url: string } | { readonly type: 'sqlite'; readonly path: string }
) & {
  /** Longest a statement may run (PostgreSQL statement_timeout, and a client-side timeout for a dead link). */
  readonly statementTimeoutMs: number;
  /** Longest a request waits for a pooled connection (or, on SQLite, for the write lock). */
  readonly acquireTimeoutMs: number;
  /** PostgreSQL connections this process opens at most: replicas x this must fit max_connections. */
  readonly poolSize: number;
};

export const DEFAULT_SQLITE_PATH = 'data/terra_constellata.sqlite';

// Each variable's schema turns the raw string (blank means unset) into its value, or fails with the reason an
// operator reads after "Invalid configuration: <VARIABLE> ".
const blankAsUnset = (raw: unknown) =>
  typeof raw === 'string' ? (raw.trim() === '' ? undefined : raw.trim()) : raw;

function variable<T>(convert: (raw: string | undefined) => T | { reason: string }) {
  return z.preprocess(
    blankAsUnset,
    z
      .string()
      .optional()
      .transform((raw, ctx): T => {
        const value = convert(raw);
        if (value !== null && typeof value === 'object' && 'reason' in value) {
          ctx.issues.push({ code: 'custom', message: value.reason, input: raw });
          return z.NEVER;
        }
        return value as T;
      }),
  );
}

const quoted = (raw: string) => JSON.stringify(raw);

function integer<F extends number | undefined>(fallback: F, min: number, max: number) {
  return variable((raw): number | F | { reason: string } => {
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
    return Number.isSafeInteger(value) && value >= min && value <= max
      ? value
      : { reason: `is ${quoted(raw)}; expected an integer from ${min} to ${max}` };
  });
}

function decimal<F extends number | undefined>(fallback: F, min: number, max: number, unset = '') {
  return variable((raw): number | F | { reason: string } => {
    if (raw === undefined) return fallback;
    const value = /^\d*\.?\d+$/.test(raw) ? Number(raw) : NaN;
    return value >= min && value <= max
      ? value
      : { reason: `is ${quoted(raw)}; expected a number from ${min} to ${max}${unset}` };
  });
}

function oneOf<T extends string, F extends T | undefined>(allowed: readonly T[], fallback: F) {
  return variable((raw): T | F | { reason: string } => {
    if (raw === undefined) return fallback;
    return (allowed as readonly string[]).includes(raw)
      ? (raw as T)
      : { reason: `is ${quoted(raw)}; expected one of ${allowed.join(', ')}` };
  });
}

function text<F extends string | undefined>(fallback: F) {
  return variable((raw): string | F => raw ?? fallback);
}

// The URL can hold a password, so reasons about it never echo the value.
const POSTGRES_URL = 'expected postgres://user[:password]@host[:port]/database';
function postgresUrl(raw: string): string | { reason: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { reason: `is not a URL; ${POSTGRES_URL}` };
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return { reason: `has scheme "${url.protocol.replace(/:$/, '')}"; ${POSTGRES_URL}` };
  }
  if (!url.hostname) return { reason: `has no host; ${POSTGRES_URL}` };
  if (url.pathname.length <= 1) return { reason: `names no database; ${POSTGRES_URL}` };
  return raw;
}

// Like DATABASE_URL, the URL can hold a password: reasons never echo it.
const REDIS_URL = 'expected redis://[user:password@]host[:port][/db] (or rediss:// for TLS)';
function redisUrl(raw: string): string | { reason: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { reason: `is not a URL; ${REDIS_URL}` };
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    return { reason: `has scheme "${url.protocol.replace(/:$/, '')}"; ${REDIS_URL}` };
  if (!url.hostname) return { reason: `has no host; ${REDIS_URL}` };
  if (!/^(\/\d{0,2})?$/.test(url.pathname)) return { reason: `names no database number; ${REDIS_URL}` };
  return raw;
}

export const RATE_LIMIT_STORES = ['memory', 'redis'] as const;
export type RateLimitStore = (typeof RATE_LIMIT_STORES)[number];

const SENTRY_DSN = 'a DSN looks like https://<public_key>@<host>/<project_id> (unset means Sentry off)';
// Names the part that is wrong, so that a copied placeholder (https://your-dsn@sentry.io/project-id) is
// recognised as one; the value itself is not repeated (a DSN carries its project's key).
function sentryDsn(raw: string): string | { reason: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { reason: `is not a URL; ${SENTRY_DSN}` };
  }
  const wrong =
    url.protocol !== 'http:' && url.protocol !== 'https:'
      ? `its scheme is "${url.protocol.slice(0, -1)}", not https`
      : !url.username
        ? 'it has no public key before the @'
        : !/\/\d+$/.test(url.pathname)
          ? `its path "${url.pathname}" does not end in a numeric project id`
          : undefined;
  return wrong ? { reason: `is not a Sentry DSN: ${wrong}; ${SENTRY_DSN}` } : raw;
}

/** Every environment variable the service reads, with its default; the one declaration of the configuration. */
export const ENV_SCHEMA = z
  .object({
    PORT: integer(8000, 0, 65535),
    HOST: text('0.0.0.0'),
    ENVIRONMENT: oneOf(ENVIRONMENTS, 'development'),
    RELEASE_VERSION: text(undefined),
    LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
    // Not blank-as-unset: an empty LOG_DIR means console only.
    LOG_DIR: z.string().optional(),
    LOG_CONSOLE: oneOf(LOG_CONSOLE_FORMATS, undefined),
    LOG_MAX_SIZE_MB: integer(50, 1, 102400),
    LOG_MAX_FILES: integer(14, 1, 1000),
    DATABASE_URL: variable((raw) => (raw === undefined ? undefined : postgresUrl(raw))),
    SQLITE_PATH: text(DEFAULT_SQLITE_PATH),
    DATABASE_STATEMENT_TIMEOUT_MS: integer(5000, 100, 600_000),
    DATABASE_ACQUIRE_TIMEOUT_MS: integer(5000, 100, 600_000),
    DATABASE_POOL_SIZE: integer(10, 1, 1000),
    FEEDBACK_WRITE_QUEUE_MAX: integer(5000, 1, 1_000_000),
    FEEDBACK_IDEMPOTENCY_TTL_MS: integer(86_400_000, 1000, 30 * 86_400_000),
    RATE_LIMIT_WRITES: integer(600, 0, 1_000_000),
    RATE_LIMIT_READS: integer(1200, 0, 1_000_000),
    RATE_LIMIT_STORE: oneOf(RATE_LIMIT_STORES, 'memory'),
    REDIS_URL: variable((raw) => (raw === undefined ? undefined : redisUrl(raw))),
    TRUST_PROXY: variable((raw): boolean | number | string[] | { reason: string } => {
      if (raw === undefined || raw === 'false') return false;
      if (raw === 'true') return true;
      if (/^\d{1,2}$/.test(raw)) return Number(raw);
      const list = raw.split(',').map((entry) => entry.trim());
      return list.every((entry) => /^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(entry))
        ? list
        : {
            reason: 'must be false, true, a hop count, or a comma-separated list of proxy addresses or CIDRs',
          };
    }),
    RATE_LIMIT_WINDOW_MS: integer(60_000, 1000, 3_600_000),
    REQUEST_TIMEOUT_MS: integer(30_000, 1000, 600_000),
    REQUEST_DEADLINE_MS: integer(30_000, 0, 600_000),
    HEADERS_TIMEOUT_MS: integer(10_000, 500, 600_000),
    MAX_CONNECTIONS: integer(undefined, 16, 1_000_000),
    SENTRY_DSN: variable((raw) => (raw === undefined ? undefined : sentryDsn(raw))),
    SENTRY_TRACES_SAMPLE_RATE: decimal(undefined, 0, 1, ' (unset means tracing off)'),
    SENTRY_SEND_TIMEOUT_MS: integer(10_000, 100, 300_000),
    METRICS_TOKEN: text(undefined),
    FEEDBACK_READ_TOKENS: variable((raw) => {
      if (raw === undefined) return [];
      const tokens = raw.split(',').map((token) => token.trim());
      return tokens.every((token) => /^[\x21-\x7e]{16,}$/.test(token))
        ? tokens
        : { reason: 'must be a comma-separated list of tokens of 16 or more printable characters' };
    }),
    USER_ID_GATEWAY_SECRET: variable((raw) =>
      raw === undefined || /^[\x21-\x7e]{32,}$/.test(raw)
        ? raw
        : { reason: 'must be 32 or more printable characters (no spaces)' },
    ),
    BODY_LIMIT_BYTES: integer(100 * 1024, 1024, 64 * 1024 * 1024),
    FEEDBACK_INSIGHTS_INTERVAL_MS: integer(60_000, 1000, 86_400_000),
    FEEDBACK_FLAG_THRESHOLD: decimal(2.5, 1, 5),
    FEEDBACK_FLAG_MIN_RATINGS: integer(5, 1, 100_000),
    HEALTH_TIMEOUT_MS: integer(1000, 10, 60_000),
    HEALTH_CACHE_MS: integer(2000, 0, 60_000),
    SHUTDOWN_GRACE_MS: integer(undefined, 0, 300_000),
    CGROUP_ROOT: text('/sys/fs/cgroup'),
    CORS_ORIGINS: variable((raw): string[] | { reason: string } => {
      if (raw === undefined) return [];
      const origins = raw.split(',').map((origin) => origin.trim());
      const bad = origins.find(
        (origin) => origin !== '*' && !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin),
      );
      return bad === undefined
        ? origins
        : {
            reason: `has ${quoted(bad)}; expected a comma-separated list of origins like https://app.example.com (scheme, host, optional port; no path), or *`,
          };
    }),
  })
  .superRefine((env, ctx) => {
    if (env.RATE_LIMIT_STORE === 'redis' && env.REDIS_URL === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_URL'],
        message: `is unset, and RATE_LIMIT_STORE is redis; ${REDIS_URL}`,
      });
    // A wildcard lets any web page read the API's answers with its visitors' browsers.
    if (env.ENVIRONMENT === 'production' && (env.CORS_ORIGINS as string[]).includes('*'))
      ctx.addIssue({
        code: 'custom',
        path: ['CORS_ORIGINS'],
        message: 'may not be * in production; list the origins that may call the API',
      });
  });

/** The validated configuration, from the parsed variables: its type is this function's result. */
export function configValues(env: z.output<typeof ENV_SCHEMA>, defaults: { releaseVersion?: string }) {
  const local = env.ENVIRONMENT === 'development' || env.ENVIRONMENT === 'test';
  return {
    port: env.PORT,
    /** Interface to listen on. */
    host: env.HOST,
    environment: env.ENVIRONMENT,
    releaseVersion: env.RELEASE_VERSION ?? defaults.releaseVersion ?? packageVersion(),
    logLevel: env.LOG_LEVEL,
    /** Empty string means console only. */
    logDir: env.LOG_DIR === undefined ? 'logs' : env.LOG_DIR.trim(),
    /** pretty (colored, development), json (one object per line, what collectors read) or off. */
    logConsole: env.LOG_CONSOLE ?? (env.ENVIRONMENT === 'development' ? 'pretty' : 'json'),
    /** A log file is rotated when it reaches this size, and at midnight UTC. */
    logMaxBytes: env.LOG_MAX_SIZE_MB * 1024 * 1024,
    /** Rotated files kept per log file; older ones are deleted. */
    logMaxFiles: env.LOG_MAX_FILES,
    database: {
      ...(env.DATABASE_URL === undefined
        ? { type: 'sqlite' as const, path: env.SQLITE_PATH }
        : { type: 'postgres' as const, url: env.DATABASE_URL }),
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
      acquireTimeoutMs: env.DATABASE_ACQUIRE_TIMEOUT_MS,
      poolSize: env.DATABASE_POOL_SIZE,
    } as DatabaseConfig,
    /** Submissions waiting for the database beyond this many are refused at once with 503. */
    writeQueueMax: env.FEEDBACK_WRITE_QUEUE_MAX,
    /** An Idempotency-Key replays its submission for this long; then it is freed. */
    idempotencyTtlMs: env.FEEDBACK_IDEMPOTENCY_TTL_MS,
    /** Writes (feedback, workflows, artworks) one client address may make per window; 0: no limit. */
    rateLimitWrites: env.RATE_LIMIT_WRITES,
    /** Reads of the API (feedback aggregates, workflows, recent feedback) per client and window; 0: no limit. */
    rateLimitReads: env.RATE_LIMIT_READS,
    rateLimitWindowMs: env.RATE_LIMIT_WINDOW_MS,
    /**
     * Where the rate-limit counters live: this process's memory (each replica its own budget) or Redis (one
     * budget per client across every replica; per-replica memory while Redis cannot be reached).
     */
    rateLimitStore: env.RATE_LIMIT_STORE,
    redisUrl: env.REDIS_URL,
    /**
     * Which proxies' X-Forwarded-For to believe for the client's address (rate limits, anonymous idempotency
     * keys): behind an ingress, every client would otherwise share the ingress's address.
     */
    trustProxy: env.TRUST_PROXY as boolean | number | readonly string[],
    /** Longest a client may take to send a whole request (a slow body included); then 408 and close. */
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    /** A request still unanswered this long after it arrived is answered 503, whatever it waits on; 0: off. */
    requestDeadlineMs: env.REQUEST_DEADLINE_MS,
    /**
     * Longest a connection may take to send a complete request head (request line and headers), from the moment
     * it is accepted or its previous request ended; then 408 and close. At most REQUEST_TIMEOUT_MS.
     */
    headersTimeoutMs: Math.min(env.HEADERS_TIMEOUT_MS, env.REQUEST_TIMEOUT_MS),
    /** Open HTTP connections at most; undefined: derived from the file-descriptor limit at start. */
    maxConnections: env.MAX_CONNECTIONS,
    sentryDsn: env.SENTRY_DSN,
    /** Undefined means errors-only: tracing off. */
    sentryTracesSampleRate: env.SENTRY_TRACES_SAMPLE_RATE,
    /** A report the ingest has not answered within this is given up on (counted as dropped, reason timeout). */
    sentrySendTimeoutMs: env.SENTRY_SEND_TIMEOUT_MS,
    metricsToken: env.METRICS_TOKEN,
    /** Bearer tokens that may read individual feedback (GET /api/feedback/recent); empty: see FeedbackReadGuard. */
    feedbackReadTokens: env.FEEDBACK_READ_TOKENS as readonly string[],
    /**
     * The secret a gateway that authenticates users sends in `x-gateway-secret` beside the `x-user-id` it vouches
     * for. Unset: every `x-user-id` (and body `user_id`) is a claim, and distinct raters are distinct clients.
     */
    userIdGatewaySecret: env.USER_ID_GATEWAY_SECRET as string | undefined,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    /** How often the learning loop recomputes its insights from the database. */
    insightsIntervalMs: env.FEEDBACK_INSIGHTS_INTERVAL_MS,
    /** A workflow or artwork is flagged when its average rating is below this... */
    flagThreshold: env.FEEDBACK_FLAG_THRESHOLD,
    /** ...from at least this many distinct raters (clients, or users a gateway vouches for: USER_ID_GATEWAY_SECRET). */
    flagMinRatings: env.FEEDBACK_FLAG_MIN_RATINGS,
    /** Longest a health check may take before it counts as down. */
    healthTimeoutMs: env.HEALTH_TIMEOUT_MS,
    /** How long a health check result is reused by later probes. */
    healthCacheMs: env.HEALTH_CACHE_MS,
    /**
     * After SIGTERM: readiness answers 503 for this long before the server stops accepting connections.
     * Kubernetes needs a few seconds to take a terminating pod out of its endpoints; a developer does not.
     */
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS ?? (local ? 0 : 5000),
    /** Origins whose browser pages may call the API (CORS); empty: CORS off. `*` is refused in production. */
    corsOrigins: env.CORS_ORIGINS as readonly string[],
    /** Where the cgroup v2 hierarchy is mounted: the container's CPU and memory limits are read from it. */
    cgroupRoot: env.CGROUP_ROOT,
  };
}

export type ConfigValues = Readonly<ReturnType<typeof configValues>>;

let cachedVersion: string | undefined;

// Walks up from this file so the same code finds package.json from src/ (tests) and dist/ (production).
function packageVersion(): string {
  if (cachedVersion) return cachedVersion;
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'terra-constellata-observability' && pkg.version) return (cachedVersion = pkg.version);
    } catch {
      // not here; keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return (cachedVersion = '0.0.0');
}
