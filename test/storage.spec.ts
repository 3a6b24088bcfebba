import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import type { DatabaseConfig } from '@app/config';
import { buildDataSourceOptions, MIGRATIONS, runMigrations } from '@app/database';
import { FeedbackEntity } from '@app/feedback';
import { createTestDatabase, describePostgres, type TestDatabase } from './support/postgres';

interface Engine {
  database: DatabaseConfig;
  cleanup(): Promise<void>;
}

function feedback(overrides: Partial<FeedbackEntity> = {}): FeedbackEntity {
  return Object.assign(new FeedbackEntity(), {
    id: randomUUID(),
    targetType: 'workflow',
    targetId: 'wf-123',
    rating: 4,
    comment: 'Worked nicely',
    category: 'quality',
    tags: ['fast', 'pretty'],
    metadata: { client: 'web', build: 42, beta: true, note: null },
    sentiment: 'positive',
    userId: 'user-456',
    requestId: 'req-123',
    idempotencyKey: null,
    requestFingerprint: null,
    rater: null,
    // Milliseconds survive the round trip on both engines; anything finer is not promised.
    createdAt: new Date('2026-11-27T10:54:17.358Z'),
    ...overrides,
  });
}

function storageSpec(makeEngine: () => Promise<Engine>): void {
  let engine: Engine;
  const open: DataSource[] = [];

  async function dataSource(): Promise<DataSource> {
    const ds = await new DataSource(
      buildDataSourceOptions(engine.database, { entities: [FeedbackEntity] }),
    ).initialize();
    open.push(ds);
    return ds;
  }

  beforeEach(async () => {
    engine = await makeEngine();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((ds) => ds.destroy()));
    await engine.cleanup();
  });

  it('applies every migration to an empty database, and nothing on a second run', async () => {
    const ds = await dataSource();
    const applied = await runMigrations(ds);
    expect(applied.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await runMigrations(ds)).toEqual([]);

    // A second process starting later finds nothing to do either.
    const other = await dataSource();
    expect(await other.showMigrations()).toBe(false);
    expect(await runMigrations(other)).toEqual([]);
    const rows: unknown[] = await ds.query('SELECT name FROM schema_migrations');
    expect(rows).toHaveLength(MIGRATIONS.length);
  });

  it('round-trips a feedback row with its JSON columns, nulls and timestamp', async () => {
    const ds = await dataSource();
    await runMigrations(ds);
    const repo = ds.getRepository(FeedbackEntity);
    const stored = feedback();
    await repo.insert(stored);
    const bare = feedback({
      targetType: 'general',
      targetId: null,
      comment: null,
      metadata: null,
      userId: null,
      tags: [],
    });
    await repo.insert(bare);

    expect(await repo.findOneByOrFail({ id: stored.id })).toEqual(stored);
    expect(await repo.findOneByOrFail({ id: bare.id })).toEqual(bare);
  });

  it('stores timestamps in UTC', async () => {
    const ds = await dataSource();
    await runMigrations(ds);
    const row = feedback();
    await ds.getRepository(FeedbackEntity).insert(row);
    const sql =
      ds.options.type === 'postgres'
        ? `SELECT to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.MS') AS t FROM feedback`
        : 'SELECT created_at AS t FROM feedback';
    const [{ t }] = (await ds.query(sql)) as Array<{ t: string }>;
    expect(t).toBe('2026-11-27 10:54:17.358');
  });

  it('enforces the rating range and unique idempotency keys in the schema', async () => {
    const ds = await dataSource();
    await runMigrations(ds);
    const repo = ds.getRepository(FeedbackEntity);
    await expect(repo.insert(feedback({ rating: 6 }))).rejects.toThrow(
      /chk_feedback_rating|CHECK constraint/i,
    );
    await repo.insert(feedback({ idempotencyKey: 'key-1' }));
    await expect(repo.insert(feedback({ idempotencyKey: 'key-1' }))).rejects.toThrow(/unique|duplicate/i);
    await repo.insert(feedback({ idempotencyKey: null }));
    await repo.insert(feedback({ idempotencyKey: null }));
    expect(await repo.count()).toBe(3);
  });

  it('can undo every migration and apply them again', async () => {
    const ds = await dataSource();
    await runMigrations(ds);
    for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    expect(await ds.query('SELECT name FROM schema_migrations')).toEqual([]);
    expect((await runMigrations(ds)).length).toBe(MIGRATIONS.length);
    await ds.getRepository(FeedbackEntity).insert(feedback());
  });
}

const TIMEOUTS = { statementTimeoutMs: 5000, acquireTimeoutMs: 5000, poolSize: 10 };

describe('storage on embedded SQLite', () => {
  storageSpec(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-sqlite-'));
    return {
      database: { type: 'sqlite', path: join(dir, 'nested', 'db.sqlite'), ...TIMEOUTS },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  });
});

describePostgres('storage on PostgreSQL', () => {
  storageSpec(async () => {
    const db: TestDatabase = await createTestDatabase();
    return { database: { type: 'postgres', url: db.url, ...TIMEOUTS }, cleanup: () => db.drop() };
  });

  it('lets replicas that start together migrate once, without a race', async () => {
    const db = await createTestDatabase();
    const sources = await Promise.all(
      [1, 2, 3].map(() =>
        new DataSource(
          buildDataSourceOptions({ type: 'postgres', url: db.url, ...TIMEOUTS }, { poolSize: 2 }),
        ).initialize(),
      ),
    );
    try {
      const results = await Promise.all(sources.map((ds) => runMigrations(ds)));
      expect(results.map((r) => r.length).sort()).toEqual([0, 0, MIGRATIONS.length]);
      expect(await sources[0].query('SELECT name FROM schema_migrations')).toHaveLength(MIGRATIONS.length);
    } finally {
      await Promise.all(sources.map((ds) => ds.destroy()));
      await db.drop();
    }
  });
});
