import { Global, Module } from '@nestjs/common';
import { Logger, PARAMS_PROVIDER_TOKEN, PinoLogger, type Params } from 'nestjs-pino';
import type { Logger as PinoInstance } from 'pino';
import { AppLogger } from './app-logger.service';
import type { RootLogger } from './logger.factory';
import { LoggingCoreModule } from './logging-core.module';
import { ROOT_LOGGER } from './logging.tokens';
import { RequestContextService } from './request-context.service';
import { RequestLoggingHooks } from './request-logging.hooks';

/**
 * Structured logs: console and rotating JSON files, the request context, the product's helpers. Inject
 * AppLogger. nestjs-pino's Logger is what Nest's own `Logger` writes through (app.useLogger), and its
 * PinoLogger is there for code written against it: all three log through the same pino instance and read the
 * same request context (nestjs-pino's AsyncLocalStorage), so each line inside a request carries its id.
 */
// nestjs-pino's LoggerModule is left out: its pino-http middleware would log every request a second time and
// build a child logger per request; the request pipeline enters the context itself (RequestLoggingHooks).
@Global()
@Module({
  imports: [LoggingCoreModule],
  providers: [
    {
      provide: PARAMS_PROVIDER_TOKEN,
      inject: [ROOT_LOGGER],
      useFactory: (root: RootLogger): Params => ({
        pinoHttp: { logger: root.logger as unknown as PinoInstance },
      }),
    },
    PinoLogger,
    Logger,
    AppLogger,
    RequestContextService,
    RequestLoggingHooks,
  ],
  exports: [LoggingCoreModule, AppLogger, PinoLogger, Logger, RequestContextService, RequestLoggingHooks],
})
export class LoggingModule {}
