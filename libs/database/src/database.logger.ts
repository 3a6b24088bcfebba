import type { Logger as TypeOrmLogger } from 'typeorm';
import { MAX_LOGGED_SQL, truncate } from '@app/common';
import type { AppLogger } from '@app/logging';

const clip = (sql: string) => truncate(sql, MAX_LOGGED_SQL);

/**
 * TypeORM's logger, writing through the service's logger, so a query's line carries the request that ran it.
 * Bound parameters are never logged: they hold users' comments and metadata (in a batched INSERT, other users'
 * too). Every query at debug, failures and slow queries at warn (the request's own error line follows when it
 * fails), migrations at info.
 */
export class DatabaseLogger implements TypeOrmLogger {
  constructor(
    private readonly logger: AppLogger,
    private readonly slowQueryMs: number,
  ) {}

  logQuery(query: string): void {
    // Called for every query: the level check comes first.
    if (this.logger.isLevelEnabled('debug')) this.logger.debug({ sql: clip(query) }, 'SQL query');
  }

  logQueryError(error: string | Error, query: string): void {
    const driver = error as { code?: unknown; message?: unknown };
    this.logger.warn(
      {
        sql: clip(query),
        db_code: typeof driver.code === 'string' ? driver.code : undefined,
        db_error: typeof error === 'string' ? error : String(driver.message ?? ''),
      },
      'SQL query failed',
    );
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn(
      { sql: clip(query), duration_ms: time, slow_query_ms: this.slowQueryMs },
      'Slow SQL query',
    );
  }

  logSchemaBuild(message: string): void {
    this.logger.info({ component: 'typeorm' }, message);
  }

  logMigration(message: string): void {
    this.logger.info({ component: 'typeorm' }, message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    if (level === 'warn') this.logger.warn({ component: 'typeorm' }, text);
    else this.logger.debug({ component: 'typeorm' }, text);
  }
}
