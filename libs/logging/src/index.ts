export { LoggingModule } from './logging.module';
export { AppLogger } from './app-logger.service';
export {
  RequestLog,
  RequestLogContext,
  requestLogContextOf,
  requestIdFor,
  userIdFrom,
} from './request-context';
export { createRootLogger, LogDirectoryError, type AppPinoLogger, type RootLogger } from './logger.factory';
export { ROOT_LOGGER } from './logging.tokens';
export { RotatingFileStream, type RotatingFileOptions } from './rotating-file.stream';
export { ALL_LOG_FILE, ERROR_LOG_FILE, CUSTOM_LEVELS, QUIET_ROUTES, SERVICE_NAME } from './logging.constants';
export { Logger as NestPinoLogger } from 'nestjs-pino';
export { ERROR_REPORTER, type ErrorReport, type ErrorReporter } from './error-reporter';
