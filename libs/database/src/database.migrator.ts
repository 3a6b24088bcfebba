import type { DataSource, Migration } from 'typeorm';

// Any constant works; it only has to be the same in every replica of this service.
const MIGRATION_LOCK_KEY = 734_502_118;

/**
 * Runs pending migrations. On PostgreSQL an advisory lock serialises replicas that start together, so two pods
 * never apply the same migration at once; SQLite has a single writer by construction.
 */
export async function runMigrations(dataSource: DataSource): Promise<Migration[]> {
  if (dataSource.options.type !== 'postgres') {
    return dataSource.runMigrations({ transaction: 'each' });
  }
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}
