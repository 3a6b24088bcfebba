import { accessSync, constants } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import pino, { type Level, type LoggerOptions, type Logger, type StreamEntry } from 'pino';
import pretty from 'pino-pretty';
import { ensureDirectory, MAX_LOGGED_SQL, redactDeep, truncate } from '@app/common';
import type { AppConfig } from '@app/config';
import {
  ALL_LOG_FILE,
  CUSTOM_LEVELS,
  ERROR_LOG_FILE,
  SERVICE_NAME,
  type AppLevel,
} from './logging.constants';
import { BatchedWriter } from './batched-writer';
import { LogFaults, type LogLoss } from './log-faults';
import { RotatingFileStream, WRITE_BATCH } from './rotating-file.stream';
import {
  cachedIsoTime,
  LEVEL_VALUES,
  requestLineRenderer,
  requestLinePinoFields,
  type RequestLineFields,
  type RequestLineLevel,
} from './request-line';

export type AppPinoLogger = Logger<AppLevel>;

/** The log directory cannot be used; the message is one line for the operator. */
export class LogDirectoryError extends Error {
  override readonly name = 'LogDirectoryError';
}

export interface RootLogger {
  logger: AppPinoLogger;
  /** Writes the one "API Request" line of a finished request, if its level is enabled. */
  logRequest(level: RequestLineLevel, fields: RequestLineFields): void;
  /** Writes out everything buffered and closes the files; call once, at shutdown. */
  close(): Promise<void>;
  /** Writes out everything buffered, synchronously: for a process that is about to die. */
  flushSync(): void;
  /** What each destination (the log files, JSON stdout) has lost since start; read at scrape time. */
  loss(): LogLoss[];
  /** The absolute log directory, when logs go to files. */
  logDir: string | undefined;
}

function openLogDirectory(dir: string): string {
  try {
    const absolute = ensureDirectory(dir);
    accessSync(absolute, constants.W_OK);
    return absolute;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new LogDirectoryError(
      `Cannot write logs to LOG_DIR=${JSON.stringify(dir)} (${code}); make it writable, or set LOG_DIR= (empty) for console only`,
    );
  }
}

/** Longest message and stack an error line carries: a message can quote a whole input. */
const MAX_ERROR_TEXT = 8000;

/**
 * pino's error serializer, less what a database error carries about other people: TypeORM's QueryFailedError
 * holds the statement's bound parameters, which for a group-committed INSERT are every row of the batch
 * (other users' comments and metadata). Kept: type, message, stack, the driver's code, the SQL text (cut).
 */
export function serializeError(error: unknown): unknown {
  const out = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (!out || typeof out !== 'object') return out;
  delete out.parameters;
  out.query = truncate(out.query, MAX_LOGGED_SQL);
  // A message can quote what a client sent or a connection string: the same text redaction as every line.
  out.message = redactDeep(truncate(out.message, MAX_ERROR_TEXT));
  out.stack = redactDeep(truncate(out.stack, MAX_ERROR_TEXT * 2));
  if (out.query === undefined) delete out.query;
  const driver = out.driverError as Record<string, unknown> | undefined;
  if (driver && typeof driver === 'object') {
    out.driverError = { code: driver.code, message: redactDeep(driver.message), severity: driver.severity };
  }
  return out;
}

/**
 * Every line pino writes, whichever logger wrote it (AppLogger, Nest's Logger, nestjs-pino's PinoLogger, the
 * database logger) and in whichever form (fields, message, format arguments), passes this one hook: secret-
 * named fields and secrets in free text are replaced (redactDeep). pino's own `redact` covers only the paths
 * it is given, never free text. The hook runs only for enabled levels, and most requests write no pino line at
 * all (the request line is rendered by hand); its price per line is in bench/README.md (redaction).
 */
export const REDACTING_HOOKS: NonNullable<LoggerOptions['hooks']> = {
  logMethod(args, method) {
    const redacted = args.map((arg: unknown) => redactDeep(arg)) as typeof args;
    method.apply(this, redacted);
  },
};

/**
 * The service's one pino logger: console (pretty or JSON) plus, when LOG_DIR is set, every line in
 * terra_constellata.log and error-and-above in errors.log. Built once at start; nothing here runs per request.
 */
export function createRootLogger(config: AppConfig): RootLogger {
  const levels = { ...pino.levels.values, ...CUSTOM_LEVELS };
  const streams: StreamEntry<Level | AppLevel>[] = [];
  // Where the fast request line goes: the same destinations as pino's lines, with their minimum levels.
  const rawDestinations: Array<{ minLevel: number; stream: { write(line: string): unknown } }> = [];
  const files: RotatingFileStream[] = [];
  let stdout: BatchedWriter | undefined;
  let stdoutFaults: LogFaults | undefined;
  let logDir: string | undefined;

  if (config.logConsole === 'json') {
    stdoutFaults = new LogFaults('stdout');
    stdout = new BatchedWriter(1, { ...WRITE_BATCH, closeFd: false, faults: stdoutFaults });
    streams.push({ level: 'trace', stream: stdout });
    rawDestinations.push({ minLevel: 0, stream: stdout });
  } else if (config.logConsole === 'pretty') {
    streams.push({
      level: 'trace',
      stream: pretty({
        colorize: true,
        sync: true,
        customLevels: CUSTOM_LEVELS,
        ignore: 'service,environment,version,host',
      }),
    });
  }

  if (config.logDir) {
    const dir = openLogDirectory(config.logDir);
    logDir = dir;
    const rotation = { maxBytes: config.logMaxBytes, maxFiles: config.logMaxFiles };
    const all = new RotatingFileStream({ path: join(dir, ALL_LOG_FILE), ...rotation });
    const errors = new RotatingFileStream({ path: join(dir, ERROR_LOG_FILE), ...rotation });
    files.push(all, errors);
    streams.push({ level: 'trace', stream: all }, { level: 'error', stream: errors });
    rawDestinations.push({ minLevel: 0, stream: all }, { minLevel: LEVEL_VALUES.error, stream: errors });
  }

  const time = cachedIsoTime();
  // The pod name in Kubernetes: replicas sharing a log store are told apart by it.
  const host = hostname();
  // An upper-case label makes Loki's `|= "ERROR"` select exactly the error lines; built once per level.
  const levelFields = Object.fromEntries(
    Object.keys(levels).map((label) => [label, { level: label.toUpperCase() }]),
  );
  const logger = pino<AppLevel>(
    {
      hooks: REDACTING_HOOKS,
      level: config.logLevel,
      customLevels: CUSTOM_LEVELS,
      base: { service: SERVICE_NAME, environment: config.environment, version: config.releaseVersion, host },
      timestamp: time,
      formatters: { level: (label: string) => levelFields[label] ?? { level: label.toUpperCase() } },
      serializers: { err: serializeError },
    },
    pino.multistream<Level | AppLevel>(streams, { levels, dedupe: false }),
  );

  // A child's bindings are written on each of its lines: redacted once, when it is made. Children are made from
  // the root or from another child, whose prototype is the root, so every one of them passes here.
  type Child = (this: unknown, bindings: Record<string, unknown>, options?: unknown) => AppPinoLogger;
  const originalChild = logger.child as unknown as Child;
  (logger as unknown as { child: Child }).child = function (bindings, options) {
    return originalChild.call(this, redactDeep(bindings), options);
  };

  const render = requestLineRenderer({
    environment: config.environment,
    version: config.releaseVersion,
    host,
    time,
  });
  const logRequest =
    config.logConsole === 'pretty'
      ? // Development: through pino, so pino-pretty shows it like every other line.
        (level: RequestLineLevel, f: RequestLineFields) => {
          if (!logger.isLevelEnabled(level)) return;
          logger[level](requestLinePinoFields(f), 'API Request');
        }
      : (level: RequestLineLevel, f: RequestLineFields) => {
          const value = LEVEL_VALUES[level];
          if (value < logger.levelVal || rawDestinations.length === 0) return;
          const line = render(level, f);
          for (const destination of rawDestinations) {
            if (value >= destination.minLevel) destination.stream.write(line);
          }
        };

  return {
    logger,
    logRequest,
    flushSync: () => {
      for (const file of files) file.flushSync();
      stdout?.flushSync();
    },
    logDir,
    loss: () => [...files.map((file) => file.loss()), ...(stdoutFaults ? [stdoutFaults.loss()] : [])],
    close: async () => {
      await Promise.all([...files.map((file) => file.end()), stdout?.end()]);
    },
  };
}
