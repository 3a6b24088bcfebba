import { Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoInstance } from 'pino';
import { AppLogger } from './app-logger.service';
import type { RootLogger } from './logger.factory';
import { LoggingCoreModule } from './logging-core.module';
import { ROOT_LOGGER } from './logging.tokens';
import { RequestContext } from './request-context';
import { RequestLoggingHook } from './request-logging.hook';

/** Structured logs (nestjs-pino): console and rotating JSON files, request correlation, the spec's helpers. */
@Global()
@Module({
  imports: [
    LoggingCoreModule,
    LoggerModule.forRootAsync({
      imports: [LoggingCoreModule],
      inject: [ROOT_LOGGER],
      // Request context is bound by RequestLoggingHook, so nestjs-pino's pino-http middleware is not mounted.
      useFactory: (root: RootLogger) => ({
        pinoHttp: { logger: root.logger as unknown as PinoInstance },
        useExisting: true,
        forRoutes: [],
      }),
    }),
  ],
  providers: [AppLogger, RequestContext, RequestLoggingHook],
  exports: [LoggingCoreModule, AppLogger, RequestContext, LoggerModule],
})
export class LoggingModule {}
