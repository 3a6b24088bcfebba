import { Global, Module } from '@nestjs/common';
import { Logger, PARAMS_PROVIDER_TOKEN, PinoLogger, type Params } from 'nestjs-pino';
import type { Logger as PinoInstance } from 'pino';
import { AppLogger } from './app-logger.service';
import type { RootLogger } from './logger.factory';
import { LoggingCoreModule } from './logging-core.module';
import { ROOT_LOGGER } from './logging.tokens';
import { RequestLoggingHook } from './request-logging.hook';

/** Structured logs (nestjs-pino): console and rotating JSON files, request correlation, the spec's helpers. */
// nestjs-pino's Logger (Nest's logger) and PinoLogger are provided without its LoggerModule: that module's
// configure() makes Nest mount a middleware layer (@fastify/middie) that then runs on every request, although
// request context is bound by RequestLoggingHook and no middleware is needed. Their lines carry no request_id:
// request context is passed explicitly (see request-context.ts), and only AppLogger takes it.
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
    RequestLoggingHook,
  ],
  exports: [LoggingCoreModule, AppLogger, PinoLogger, Logger],
})
export class LoggingModule {}
