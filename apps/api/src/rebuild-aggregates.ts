// `npm run db:rebuild-aggregates`: recounts the feedback roll-ups from the stored rows (after a restore from
// backup, a manual correction or a deletion on request). Safe while the service runs: each slice is one short
// transaction that holds writers off the roll-ups, so a write during the rebuild counts once.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '@app/config';
import { buildDataSourceOptions, runMigrations } from '@app/database';
import { AGGREGATES_LOCK, FeedbackAggregatesRepository, rebuildAggregates } from '@app/feedback';

async function main(): Promise<number> {
  const config = loadConfig();
  const target =
    config.database.type === 'postgres'
      ? `PostgreSQL ${new URL(config.database.url).host}${new URL(config.database.url).pathname}`
      : `SQLite ${config.database.path}`;
  // No statement timeout: one slice may take longer than a request may.
  const dataSource = await new DataSource(
    buildDataSourceOptions(
      config.database.type === 'postgres' ? { ...config.database, statementTimeoutMs: 0 } : config.database,
    ),
  ).initialize();
  try {
    await runMigrations(dataSource);
    const repository = new FeedbackAggregatesRepository(dataSource, config);
    const line = (text: string): void => void process.stdout.write(`${new Date().toISOString()} ${text}\n`);
    line(`Rebuilding the feedback aggregates of ${target}`);
    const run = async () => {
      await rebuildAggregates(repository, line);
      await repository.setState('ready', null);
    };
    if (config.database.type !== 'postgres') {
      await run();
      return 0;
    }
    // One rebuild at a time: a replica's back-fill, or another run of this command, holds the lock.
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        AGGREGATES_LOCK,
      ])) as Array<{ locked: boolean }>;
      if (!locked) {
        line('Waiting for the rebuild or back-fill another process is running to finish');
        await runner.query('SELECT pg_advisory_lock($1)', [AGGREGATES_LOCK]);
      }
      await run();
      await runner.query('SELECT pg_advisory_unlock($1)', [AGGREGATES_LOCK]);
    } finally {
      await runner.release();
    }
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message =
      error instanceof ConfigError
        ? error.message
        : `Rebuilding the feedback aggregates failed: ${String((error as Error)?.stack ?? error)}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  },
);
