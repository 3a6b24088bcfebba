export { DatabaseModule } from './database.module';
export { buildDataSourceOptions, type DataSourceExtras } from './database.options';
export { runMigrations } from './database.migrator';
export { MIGRATIONS } from './migrations';
export { DatabaseLogger } from './database.logger';
export { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable, isRowDataError } from './database.errors';
