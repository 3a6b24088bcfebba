import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  AppConfig,
  ENVIRONMENTS,
  LOG_CONSOLE_FORMATS,
  LOG_LEVELS,
  type DatabaseConfig,
  type Environment,
  type LogConsoleFormat,
  type LogLevel,
} from './config.types';

export type Env = Readonly<Record<string, string | undefined>>;

/** A configuration value that the service cannot start with; the message is one line meant for an operator. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`Invalid configuration: ${variable} ${reason}`);
  }
}

export const DEFAULT_SQLITE_PATH = 'data/terra_constellata.sqlite';

/** Parses and validates every variable the service reads; throws ConfigError on the first bad one. */
export function parseConfig(env: Env, defaults: { releaseVersion?: string } = {}): AppConfig {
  const environment = oneOf<Environment>(env, 'ENVIRONMENT', ENVIRONMENTS, 'development');
  return new AppConfig({
    port: integer(env, 'PORT', 8000, 0, 65535),
    host: nonEmpty(env, 'HOST', '0.0.0.0'),
    environment,
    releaseVersion: nonEmpty(env, 'RELEASE_VERSION', defaults.releaseVersion ?? packageVersion()),
    logLevel: oneOf<LogLevel>(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    logDir: env.LOG_DIR === undefined ? 'logs' : env.LOG_DIR.trim(),
    logConsole: oneOf<LogConsoleFormat>(
      env,
      'LOG_CONSOLE',
      LOG_CONSOLE_FORMATS,
      environment === 'development' ? 'pretty' : 'json',
    ),
    logMaxBytes: integer(env, 'LOG_MAX_SIZE_MB', 50, 1, 102400) * 1024 * 1024,
    logMaxFiles: integer(env, 'LOG_MAX_FILES', 14, 1, 1000),
    database: database(env),
    sentryDsn: sentryDsn(env),
    sentryTracesSampleRate: ratio(env, 'SENTRY_TRACES_SAMPLE_RATE'),
    metricsToken: optional(env, 'METRICS_TOKEN'),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 100 * 1024, 1024, 64 * 1024 * 1024),
    insightsIntervalMs: integer(env, 'FEEDBACK_INSIGHTS_INTERVAL_MS', 60_000, 1000, 86_400_000),
    flagThreshold: decimal(env, 'FEEDBACK_FLAG_THRESHOLD', 2.5, 1, 5),
    flagMinRatings: integer(env, 'FEEDBACK_FLAG_MIN_RATINGS', 5, 1, 100_000),
    healthTimeoutMs: integer(env, 'HEALTH_TIMEOUT_MS', 1000, 10, 60_000),
    healthCacheMs: integer(env, 'HEALTH_CACHE_MS', 2000, 0, 60_000),
    // Kubernetes needs a few seconds to take a terminating pod out of its endpoints; a developer does not.
    shutdownGraceMs: integer(
      env,
      'SHUTDOWN_GRACE_MS',
      environment === 'development' || environment === 'test' ? 0 : 5000,
      0,
      300_000,
    ),
  } as AppConfig);
}

function optional(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  return value === '' ? undefined : value;
}

function nonEmpty(env: Env, name: string, fallback: string): string {
  return optional(env, name) ?? fallback;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `is ${JSON.stringify(raw)}; expected an integer from ${min} to ${max}`);
  }
  return value;
}

function decimal(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = /^\d*\.?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    throw new ConfigError(name, `is ${JSON.stringify(raw)}; expected a number from ${min} to ${max}`);
  }
  return value;
}

function ratio(env: Env, name: string): number | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  const value = /^\d*\.?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 0 && value <= 1)) {
    throw new ConfigError(
      name,
      `is ${JSON.stringify(raw)}; expected a number from 0 to 1 (unset means tracing off)`,
    );
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `is ${JSON.stringify(raw)}; expected one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

// The URL can hold a password, so messages about it never echo the value.
function database(env: Env): DatabaseConfig {
  const raw = optional(env, 'DATABASE_URL');
  if (raw === undefined) {
    return { type: 'sqlite', path: nonEmpty(env, 'SQLITE_PATH', DEFAULT_SQLITE_PATH) };
  }
  const expected = 'expected postgres://user[:password]@host[:port]/database';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL', `is not a URL; ${expected}`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `has scheme "${url.protocol.replace(/:$/, '')}"; ${expected}`);
  }
  if (!url.hostname) throw new ConfigError('DATABASE_URL', `has no host; ${expected}`);
  if (url.pathname.length <= 1) throw new ConfigError('DATABASE_URL', `names no database; ${expected}`);
  return { type: 'postgres', url: raw };
}

function sentryDsn(env: Env): string | undefined {
  const raw = optional(env, 'SENTRY_DSN');
  if (raw === undefined) return undefined;
  const expected = 'expected https://<public_key>@<host>/<project_id> (unset means Sentry off)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('SENTRY_DSN', `is not a URL; ${expected}`);
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    !url.username ||
    !/\/\d+$/.test(url.pathname)
  ) {
    throw new ConfigError('SENTRY_DSN', `is not a Sentry DSN; ${expected}`);
  }
  return raw;
}

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
