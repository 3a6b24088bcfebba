import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import { AppConfig } from '@app/config';
import { createRootLogger, type RootLogger } from './logger.factory';
import { ROOT_LOGGER } from './logging.tokens';

/** Owns the one RootLogger of an app (shared by nestjs-pino and LoggingModule) and closes its files last. */
@Module({
  providers: [
    {
      provide: ROOT_LOGGER,
      inject: [AppConfig],
      useFactory: (config: AppConfig): RootLogger => {
        // nestjs-pino keeps its out-of-request logger in a module variable set by the first app; a second app
        // in the same process (tests) would otherwise log into the first one's files.
        __resetOutOfContextForTests();
        return createRootLogger(config);
      },
    },
  ],
  exports: [ROOT_LOGGER],
})
export class LoggingCoreModule implements OnApplicationShutdown {
  constructor(@Inject(ROOT_LOGGER) private readonly root: RootLogger) {}

  async onApplicationShutdown(): Promise<void> {
    await this.root.close();
  }
}
