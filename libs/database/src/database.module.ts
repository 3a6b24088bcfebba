import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '@app/config';
import { AppLogger } from '@app/logging';
import { DatabaseLogger } from './database.logger';
import { buildDataSourceOptions } from './database.options';
import { runMigrations } from './database.migrator';

/** A query slower than this is logged at warn. */
const SLOW_QUERY_MS = 1000;

/** The one DataSource of the service, migrated before anything can inject it. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig, AppLogger],
      useFactory: (config: AppConfig, logger: AppLogger) => ({
        ...buildDataSourceOptions(config.database),
        logger: new DatabaseLogger(logger, SLOW_QUERY_MS),
        maxQueryExecutionTime: SLOW_QUERY_MS,
        autoLoadEntities: true,
        // Nest would retry a failed connection 9 times over 27 s; an operator should see the error at once.
        retryAttempts: 0,
      }),
      dataSourceFactory: async (options) => {
        const dataSource = await new DataSource(options!).initialize();
        await runMigrations(dataSource);
        return dataSource;
      },
    }),
  ],
})
export class DatabaseModule {}
