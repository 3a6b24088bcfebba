import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import pino, { type Level, type Logger, type StreamEntry } from 'pino';
import pretty from 'pino-pretty';
import SonicBoom from 'sonic-boom';
import { ensureDirectory } from '@app/common';
import type { AppConfig } from '@app/config';
import {
  ALL_LOG_FILE,
  CUSTOM_LEVELS,
  ERROR_LOG_FILE,
  SERVICE_NAME,
  type AppLevel,
} from './logging.constants';
import { REDACT_PATHS } from './log-redaction';
import { RotatingFileStream } from './rotating-file.stream';

export type AppPinoLogger = Logger<AppLevel>;

/** The log directory cannot be used; the message is one line for the operator. */
export class LogDirectoryError extends Error {
  override readonly name = 'LogDirectoryError';
}

export interface RootLogger {
  logger: AppPinoLogger;
  /** Writes out everything buffered and closes the files; call once, at shutdown. */
  close(): Promise<void>;
  /** Writes out everything buffered, synchronously: for a process that is about to die. */
  flushSync(): void;
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

/**
 * The service's one pino logger: console (pretty or JSON) plus, when LOG_DIR is set, every line in
 * terra_constellata.log and error-and-above in errors.log. Built once at start; nothing here runs per request.
 */
export function createRootLogger(config: AppConfig): RootLogger {
  const levels = { ...pino.levels.values, ...CUSTOM_LEVELS };
  const streams: StreamEntry<Level | AppLevel>[] = [];
  const files: RotatingFileStream[] = [];
  let stdout: SonicBoom | undefined;

  if (config.logConsole === 'json') {
    stdout = new SonicBoom({ fd: 1, sync: false });
    streams.push({ level: 'trace', stream: stdout });
  } else if (config.logConsole === 'pretty') {
    streams.push({
      level: 'trace',
      stream: pretty({
        colorize: true,
        sync: true,
        customLevels: CUSTOM_LEVELS,
        ignore: 'service,environment,version',
      }),
    });
  }

  if (config.logDir) {
    const dir = openLogDirectory(config.logDir);
    const rotation = { maxBytes: config.logMaxBytes, maxFiles: config.logMaxFiles };
    const all = new RotatingFileStream({ path: join(dir, ALL_LOG_FILE), ...rotation });
    const errors = new RotatingFileStream({ path: join(dir, ERROR_LOG_FILE), ...rotation });
    files.push(all, errors);
    streams.push({ level: 'trace', stream: all }, { level: 'error', stream: errors });
  }

  const logger = pino<AppLevel>(
    {
      level: config.logLevel,
      customLevels: CUSTOM_LEVELS,
      base: { service: SERVICE_NAME, environment: config.environment, version: config.releaseVersion },
      timestamp: pino.stdTimeFunctions.isoTime,
      // An upper-case label makes Loki's `|= "ERROR"` select exactly the error lines.
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    pino.multistream<Level | AppLevel>(streams, { levels, dedupe: false }),
  );

  return {
    logger,
    flushSync: () => {
      for (const file of files) file.flushSync();
      try {
        stdout?.flushSync();
      } catch {
        // EAGAIN on a busy pipe; nothing more can be done for a dying process.
      }
    },
    close: async () => {
      await Promise.all(files.map((file) => file.end()));
      try {
        stdout?.flushSync();
      } catch {
        // see flushSync
      }
    },
  };
}
