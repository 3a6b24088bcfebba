export { LoggingModule } from './logging.module';
export { AppLogger, type ResponseDetails } from './app-logger.service';
export { RequestContextService } from './request-context.service';
export { RequestLoggingHooks } from './request-logging.hooks';
export { requestIdFor, saneId } from './request-context';
export {
  createRootLogger,
  LogDirectoryError,
  REDACTING_HOOKS,
  type AppPinoLogger,
  type RootLogger,
} from './logger.factory';
export { requestLinePinoFields } from './request-line';
export { ROOT_LOGGER } from './logging.tokens';
export { RotatingFileStream, type RotatingFileOptions } from './rotating-file.stream';
export { BatchedWriter } from './batched-writer';
export { LogFaults, type LogLoss } from './log-faults';
export { ALL_LOG_FILE, ERROR_LOG_FILE, CUSTOM_LEVELS, QUIET_ROUTES, SERVICE_NAME } from './logging.constants';
export { Logger as NestPinoLogger } from 'nestjs-pino';
export { ERROR_REPORTER, type ErrorReport, type ErrorReporter } from './error-reporter';
