import request from 'supertest';
import { DataSource } from 'typeorm';
import { parseConfig } from '@app/config';
import { buildDataSourceOptions, runMigrations } from '@app/database';
import { FeedbackAggregatesRepository, LearningLoopService, rebuildAggregates } from '@app/feedback';
import { fillStatement } from '../bench/fill';
import { createTestApp, type TestApp } from './support/app';
import { createTestDatabase, describePostgres, type TestDatabase } from './support/postgres';
import { rawStatistics } from './support/raw-statistics';

const ROWS = 1_000_000;
// A bound a full scan of a million rows cannot meet on this machine, and a read of the roll-ups meets with a
// wide margin: every read below must end within it (PostgreSQL cancels it otherwise and the service answers 503).
const STATEMENT_TIMEOUT_MS = 400;

describePostgres(`a million stored rows (PostgreSQL)`, () => {
  let db: TestDatabase;
  let t: TestApp;
  let server: Parameters<typeof request>[0];

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = parseConfig({ DATABASE_URL: db.url, DATABASE_STATEMENT_TIMEOUT_MS: '600000' });
    const dataSource = await new DataSource(buildDataSourceOptions(config.database)).initialize();
    try {
      await runMigrations(dataSource);
      // Written by SQL, as a restore would, then counted by the rebuild.
      for (let start = 1; start <= ROWS; start += 250_000)
        await dataSource.query(fillStatement(true, start, 250_000, Date.now()));
      await rebuildAggregates(new FeedbackAggregatesRepository(dataSource, config), () => undefined);
    } finally {
      await dataSource.destroy();
    }
    t = await createTestApp({
      DATABASE_URL: db.url,
      DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    });
    server = t.app.getHttpServer();
  }, 180_000);

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('answers the statistics from the roll-ups, where GROUP BY over the rows runs out of time', async () => {
    const since = new Date(Date.now() - 7 * 86_400_000).toISOString();
    for (const query of [{}, { target_type: 'artwork' }, { since }, { target_type: 'workflow', since }]) {
      const res = await request(server).get('/api/feedback/stats').query(query).expect(200);
      expect(res.body.total).toBeGreaterThan(0);
    }
    expect((await request(server).get('/api/feedback/stats').expect(200)).body.total).toBe(ROWS);
    // The same answer computed the old way, over the whole table, is cancelled by the same timeout.
    await expect(rawStatistics(t.app.get(DataSource), {}, new Date())).rejects.toThrow(/statement timeout/);
  });

  it('recomputes the insights within the statement timeout, over 50,000 targets', async () => {
    const insights = await t.app.get(LearningLoopService).recompute('request');
    expect(insights.total_feedback).toBe(ROWS);
    expect(insights.targets).toHaveLength(500);
    expect(insights.targets_total).toBe(50_000);
    expect(insights.negative_feedback.count).toBe(5000);
  });

  it('keeps the roll-ups exact for writes on top of a million rows', async () => {
    await request(server)
      .post('/api/feedback/artwork/art-7')
      .set('x-user-id', 'scale-user')
      .send({ rating: 5 })
      .expect(201);
    expect((await request(server).get('/api/feedback/stats').expect(200)).body.total).toBe(ROWS + 1);
  });
});
