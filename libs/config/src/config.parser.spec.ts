import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.loader';
import { ConfigError, parseConfig } from './config.parser';
import { DEFAULT_SQLITE_PATH } from './config.schema';

function errorOf(env: Record<string, string>): ConfigError {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

describe('parseConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = parseConfig({}, { releaseVersion: '9.9.9' });
    expect(config).toMatchObject({
      port: 8000,
      host: '0.0.0.0',
      environment: 'development',
      releaseVersion: '9.9.9',
      logLevel: 'info',
      logDir: 'logs',
      logConsole: 'pretty',
      logMaxBytes: 50 * 1024 * 1024,
      logMaxFiles: 14,
      database: { type: 'sqlite', path: DEFAULT_SQLITE_PATH },
      sentryDsn: undefined,
      sentryTracesSampleRate: undefined,
      metricsToken: undefined,
      bodyLimitBytes: 102400,
      healthTimeoutMs: 1000,
      healthCacheMs: 2000,
      shutdownGraceMs: 0,
      insightsIntervalMs: 60_000,
      flagThreshold: 2.5,
      flagMinRatings: 5,
    });
    expect(config.isProduction).toBe(false);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes the release version from package.json when RELEASE_VERSION is unset', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(parseConfig({}).releaseVersion).toBe(require('../../../package.json').version);
  });

  it('reads every variable', () => {
    const config = parseConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      ENVIRONMENT: 'production',
      RELEASE_VERSION: '2.3.4',
      LOG_LEVEL: 'business',
      LOG_DIR: '',
      DATABASE_URL: 'postgres://app:pw@db:5432/terra',
      SENTRY_DSN: 'https://abc@o1.ingest.sentry.io/42',
      SENTRY_TRACES_SAMPLE_RATE: '0.1',
      METRICS_TOKEN: 's3cret',
      BODY_LIMIT_BYTES: '2048',
      LOG_CONSOLE: 'off',
      LOG_MAX_SIZE_MB: '5',
      LOG_MAX_FILES: '3',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '127.0.0.1',
      environment: 'production',
      releaseVersion: '2.3.4',
      logLevel: 'business',
      logDir: '',
      database: { type: 'postgres', url: 'postgres://app:pw@db:5432/terra' },
      sentryDsn: 'https://abc@o1.ingest.sentry.io/42',
      sentryTracesSampleRate: 0.1,
      metricsToken: 's3cret',
      bodyLimitBytes: 2048,
      logConsole: 'off',
      logMaxBytes: 5 * 1024 * 1024,
      logMaxFiles: 3,
    });
    expect(config.isProduction).toBe(true);
    expect(parseConfig({ ENVIRONMENT: 'production' }).logConsole).toBe('json');
    expect(parseConfig({ ENVIRONMENT: 'production' }).shutdownGraceMs).toBe(5000);
    expect(
      parseConfig({ SHUTDOWN_GRACE_MS: '250', HEALTH_TIMEOUT_MS: '300', HEALTH_CACHE_MS: '0' }),
    ).toMatchObject({
      shutdownGraceMs: 250,
      healthTimeoutMs: 300,
      healthCacheMs: 0,
    });
  });

  it('treats blank values as unset', () => {
    expect(parseConfig({ PORT: ' ', SENTRY_DSN: '', DATABASE_URL: '' })).toMatchObject({
      port: 8000,
      sentryDsn: undefined,
      database: { type: 'sqlite' },
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid configuration: PORT is "abc"; expected an integer from 0 to 65535'],
    [{ PORT: '70000' }, 'Invalid configuration: PORT is "70000"; expected an integer from 0 to 65535'],
    [{ PORT: '-1' }, 'Invalid configuration: PORT is "-1"; expected an integer from 0 to 65535'],
    [
      { ENVIRONMENT: 'prod' },
      'Invalid configuration: ENVIRONMENT is "prod"; expected one of development, test, staging, production',
    ],
    [
      { LOG_LEVEL: 'verbose' },
      'LOG_LEVEL is "verbose"; expected one of trace, debug, metrics, info, business, warn, error, fatal, silent',
    ],
    [{ SENTRY_TRACES_SAMPLE_RATE: '2' }, 'SENTRY_TRACES_SAMPLE_RATE is "2"; expected a number from 0 to 1'],
    [
      { SENTRY_TRACES_SAMPLE_RATE: 'half' },
      'SENTRY_TRACES_SAMPLE_RATE is "half"; expected a number from 0 to 1',
    ],
    [{ SENTRY_DSN: 'not a dsn' }, 'SENTRY_DSN is not a URL'],
    [
      { SENTRY_DSN: 'https://o1.ingest.sentry.io/42' },
      'SENTRY_DSN is not a Sentry DSN: it has no public key',
    ],
    [
      { SENTRY_DSN: 'ftp://abc@o1.ingest.sentry.io/42' },
      'SENTRY_DSN is not a Sentry DSN: its scheme is "ftp"',
    ],
    [{ FEEDBACK_FLAG_THRESHOLD: '7' }, 'FEEDBACK_FLAG_THRESHOLD is "7"; expected a number from 1 to 5'],
    [{ LOG_CONSOLE: 'color' }, 'LOG_CONSOLE is "color"; expected one of pretty, json, off'],
    [{ LOG_MAX_FILES: '0' }, 'LOG_MAX_FILES is "0"; expected an integer from 1 to 1000'],
    [{ BODY_LIMIT_BYTES: '10' }, 'BODY_LIMIT_BYTES is "10"; expected an integer from 1024 to 67108864'],
    [{ DATABASE_URL: 'mysql://root@db/terra' }, 'DATABASE_URL has scheme "mysql"; expected postgres://'],
    [{ DATABASE_URL: 'postgres://app:pw@db:5432' }, 'DATABASE_URL names no database'],
  ])('rejects %j with one line naming the variable', (env, expected) => {
    const error = errorOf(env);
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain('\n');
    expect(error.variable).toBe(Object.keys(env)[0]);
  });

  // The placeholders a first-time user copies from the original monitoring document: the service still refuses
  // them, and the one line says what a DSN looks like and that leaving it unset turns Sentry off.
  it.each([
    [
      'https://your-dsn@sentry.io/project-id',
      'Invalid configuration: SENTRY_DSN is not a Sentry DSN: its path "/project-id" does not end in a numeric project id; a DSN looks like https://<public_key>@<host>/<project_id> (unset means Sentry off)',
    ],
    [
      'your-development-dsn',
      'Invalid configuration: SENTRY_DSN is not a URL; a DSN looks like https://<public_key>@<host>/<project_id> (unset means Sentry off)',
    ],
  ])(
    'refuses the placeholder DSN %j in one line that shows a DSN and how to turn Sentry off',
    (dsn, line) => {
      const error = errorOf({ SENTRY_DSN: dsn });
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(line);
      // A real DSN of the same shape is accepted, so the message describes what passes.
      expect(parseConfig({ SENTRY_DSN: 'https://0123abcd@o42.ingest.sentry.io/4507' }).sentryDsn).toBe(
        'https://0123abcd@o42.ingest.sentry.io/4507',
      );
    },
  );

  it('never echoes a database password in its message', () => {
    const error = errorOf({ DATABASE_URL: 'postgres://app:hunter2@' });
    expect(error.message).toBe(
      'Invalid configuration: DATABASE_URL is not a URL; expected postgres://user[:password]@host[:port]/database',
    );
  });
});

describe('loadConfig', () => {
  it('keeps rate limits in memory unless RATE_LIMIT_STORE=redis, which needs a redis:// REDIS_URL', () => {
    expect(parseConfig({})).toMatchObject({
      rateLimitStore: 'memory',
      redisUrl: undefined,
      rateLimitReads: 1200,
      headersTimeoutMs: 10_000,
      maxConnections: undefined,
    });
    expect(parseConfig({ RATE_LIMIT_STORE: 'redis', REDIS_URL: 'rediss://u:pw@cache:6380/2' })).toMatchObject(
      { rateLimitStore: 'redis', redisUrl: 'rediss://u:pw@cache:6380/2' },
    );
    expect(errorOf({ RATE_LIMIT_STORE: 'redis' }).message).toBe(
      'Invalid configuration: REDIS_URL is unset, and RATE_LIMIT_STORE is redis; expected redis://[user:password@]host[:port][/db] (or rediss:// for TLS)',
    );
    expect(errorOf({ RATE_LIMIT_STORE: 'valkey' }).message).toBe(
      'Invalid configuration: RATE_LIMIT_STORE is "valkey"; expected one of memory, redis',
    );
    const bad = errorOf({ RATE_LIMIT_STORE: 'redis', REDIS_URL: 'http://u:s3cret@cache:6379' });
    expect(bad.message).toBe(
      'Invalid configuration: REDIS_URL has scheme "http"; expected redis://[user:password@]host[:port][/db] (or rediss:// for TLS)',
    );
    expect(errorOf({ REDIS_URL: 'redis://cache:6379/not-a-db' }).variable).toBe('REDIS_URL');
  });

  it('bounds the headers timeout by the request timeout, and MAX_CONNECTIONS from 16', () => {
    expect(parseConfig({ HEADERS_TIMEOUT_MS: '60000', REQUEST_TIMEOUT_MS: '20000' }).headersTimeoutMs).toBe(
      20_000,
    );
    expect(parseConfig({ MAX_CONNECTIONS: '500' }).maxConnections).toBe(500);
    expect(errorOf({ MAX_CONNECTIONS: '8' }).message).toBe(
      'Invalid configuration: MAX_CONNECTIONS is "8"; expected an integer from 16 to 1000000',
    );
  });

  it('fills from .env only what the environment leaves unset', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-env-'));
    const envFile = join(dir, '.env');
    writeFileSync(envFile, 'PORT=9100\nENVIRONMENT=staging\n# a comment\nMETRICS_TOKEN="from file"\n');
    const config = loadConfig({ envFile, env: { ENVIRONMENT: 'production' } });
    expect(config.port).toBe(9100);
    expect(config.environment).toBe('production');
    expect(config.metricsToken).toBe('from file');
  });

  it('works without a .env file', () => {
    expect(loadConfig({ envFile: '/nonexistent/.env', env: { PORT: '1234' } }).port).toBe(1234);
  });

  it('stops on a bad value that came from .env', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-env-'));
    const envFile = join(dir, '.env');
    writeFileSync(envFile, 'PORT=eighty\n');
    expect(() => loadConfig({ envFile, env: {} })).toThrow('Invalid configuration: PORT is "eighty"');
  });
});
