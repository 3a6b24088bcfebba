import { dirname } from 'node:path';
import { types as pgTypes, defaults as pgDefaults } from 'pg';
import type { DataSourceOptions } from 'typeorm';
import { ensureDirectory } from '@app/common';
import type { DatabaseConfig } from '@app/config';
import { MIGRATIONS } from './migrations';

// Entities map Date to `timestamp` (no zone) on PostgreSQL; store and read it as UTC whatever the host's TZ.
pgDefaults.parseInputDatesAsUTC = true;
pgTypes.setTypeParser(pgTypes.builtins.TIMESTAMP, (value) => new Date(value.replace(' ', 'T') + 'Z'));

/** The longest a statement blocks waiting for SQLite's lock. */
const SQLITE_BUSY_WAIT_MS = 20;

export interface DataSourceExtras {
  entities?: DataSourceOptions['entities'];
  /** Pool size on PostgreSQL. */
  poolSize?: number;
}

/** TypeORM options for the configured engine: PostgreSQL when DATABASE_URL is set, embedded SQLite otherwise. */
export function buildDataSourceOptions(
  database: DatabaseConfig,
  extras: DataSourceExtras = {},
): DataSourceOptions {
  const common = {
    entities: extras.entities ?? [],
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    logging: false,
  } as const;
  if (database.type === 'postgres') {
    return {
      ...common,
      type: 'postgres',
      url: database.url,
      poolSize: extras.poolSize ?? database.poolSize,
      // Fail a connection attempt instead of queueing requests forever when the server is gone.
      connectTimeoutMS: database.acquireTimeoutMs,
      extra: {
        // statement_timeout stops a slow statement in the server; query_timeout (node-postgres, client side)
        // also ends one whose server never answers (a black-holed link), a little later.
        options: `-c timezone=UTC -c statement_timeout=${database.statementTimeoutMs}`,
        query_timeout: database.statementTimeoutMs > 0 ? database.statementTimeoutMs + 1000 : undefined,
        // The wait for a pooled connection, and for a new one to connect.
        connectionTimeoutMillis: database.acquireTimeoutMs,
      },
    };
  }
  if (database.path !== ':memory:') ensureDirectory(dirname(database.path));
  return {
    ...common,
    type: 'better-sqlite3',
    database: database.path,
    enableWAL: true,
    prepareDatabase: (db: { pragma(source: string): unknown }) => {
      // Short: a lock another process holds is waited for on timers (the feedback writer), never by blocking the
      // event loop for the whole acquire timeout.
      db.pragma(`busy_timeout = ${Math.min(database.acquireTimeoutMs, SQLITE_BUSY_WAIT_MS)}`);
      db.pragma('foreign_keys = ON');
    },
  };
}
