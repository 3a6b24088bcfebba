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

export type DatabaseConfig =
  { readonly type: 'postgres'; readonly url: string } | { readonly type: 'sqlite'; readonly path: string };

/**
 * The validated configuration of the service. It is also the injection token: inject `AppConfig` to read it.
 */
export class AppConfig {
  readonly port!: number;
  readonly host!: string;
  readonly environment!: Environment;
  readonly releaseVersion!: string;
  readonly logLevel!: LogLevel;
  /** Empty string means console only. */
  readonly logDir!: string;
  /** pretty (colored, development), json (one object per line, what collectors read) or off. */
  readonly logConsole!: LogConsoleFormat;
  /** A log file is rotated when it reaches this size, and at midnight UTC. */
  readonly logMaxBytes!: number;
  /** Rotated files kept per log file; older ones are deleted. */
  readonly logMaxFiles!: number;
  readonly database!: DatabaseConfig;
  readonly sentryDsn!: string | undefined;
  /** Undefined means errors-only: tracing off. */
  readonly sentryTracesSampleRate!: number | undefined;
  readonly metricsToken!: string | undefined;
  readonly bodyLimitBytes!: number;
  /** Longest a health check may take before it counts as down. */
  readonly healthTimeoutMs!: number;
  /** How long a health check result is reused by later probes. */
  readonly healthCacheMs!: number;
  /** After SIGTERM: readiness answers 503 for this long before the server stops accepting connections. */
  readonly shutdownGraceMs!: number;
  /** How often the learning loop recomputes its insights from the database. */
  readonly insightsIntervalMs!: number;
  /** A workflow or artwork is flagged when its average rating is below this... */
  readonly flagThreshold!: number;
  /** ...over at least this many ratings. */
  readonly flagMinRatings!: number;

  constructor(values: AppConfig) {
    Object.assign(this, values);
    Object.freeze(this);
  }

  get isProduction(): boolean {
    return this.environment === 'production';
  }
}
