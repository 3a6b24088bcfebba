import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, runMigrations } from '@app/database';
import { FeedbackEntity, FeedbackRepository, FeedbackWriter } from '@app/feedback';
import { createTestApp, type TestApp } from './support/app';
import { startBuiltApp } from './support/built-app';
import { createTestDatabase, describePostgres, type TestDatabase } from './support/postgres';
import { databaseBehindProxy, type TcpProxy } from './support/tcp-proxy';

const FEEDBACK = { rating: 4, comment: 'fault test' };

async function rowCount(t: TestApp): Promise<number> {
  const [{ count }] = await t.app.get(DataSource).query('SELECT COUNT(*) AS count FROM feedback');
  return Number(count);
}

async function timed<T>(work: Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const result = await work;
  return [result, Date.now() - started];
}

describePostgres('a stuck, slow or cut database answers 503 in bounded time, and loses nothing', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let t: TestApp;
  let server: Parameters<typeof request>[0];
  let created = 0;

  beforeAll(async () => {
    let url: string;
    ({ db, proxy, url } = await databaseBehindProxy());
    t = await createTestApp({
      ENVIRONMENT: 'production',
      DATABASE_URL: url,
      DATABASE_STATEMENT_TIMEOUT_MS: '1000',
      DATABASE_ACQUIRE_TIMEOUT_MS: '1000',
      FEEDBACK_WRITE_QUEUE_MAX: '5',
      HEALTH_TIMEOUT_MS: '500',
    });
    server = t.app.getHttpServer();
  });

  afterAll(async () => {
    await proxy.restore();
    await t.close();
    await proxy.stop();
    await db.drop();
  });

  it('stores feedback while the database answers', async () => {
    for (let i = 0; i < 5; i++) {
      await request(server).post('/api/feedback/submit').send(FEEDBACK).expect(201);
      created++;
    }
    expect(await rowCount(t)).toBe(created);
  });

  it('answers 503 with Retry-After within the deadlines when the database black-holes, for writes and reads', async () => {
    await proxy.blackhole();
    const [write, writeMs] = await timed(request(server).post('/api/feedback/submit').send(FEEDBACK));
    expect(write.status).toBe(503);
    expect(write.headers['retry-after']).toBe('5');
    expect(write.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    expect(write.body.message).toContain('database is unavailable');
    // Statement timeout 1 s, and the client-side timeout 1 s after it: never the whole outage.
    expect(writeMs).toBeLessThan(5000);

    const [read, readMs] = await timed(request(server).get('/api/feedback/stats'));
    expect(read.status).toBe(503);
    expect(readMs).toBeLessThan(5000);
    const [workflow] = await timed(request(server).post('/api/workflows').send({ type: 'map_rendering' }));
    expect(workflow.status).toBe(503);
  }, 30_000);

  it('refuses at once, with 503, what does not fit in the bounded write queue', async () => {
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const res = await request(server).post('/api/feedback/submit').send(FEEDBACK);
        return { status: res.status, ms: Date.now() - started, message: String(res.body.message) };
      }),
    );
    const full = answers.filter((a) => a.message.includes('FEEDBACK_WRITE_QUEUE_MAX=5'));
    // Four batches in flight and five waiting fit; the other 21 are refused without waiting for the database.
    expect(full.length).toBeGreaterThanOrEqual(15);
    for (const a of full) {
      expect(a.status).toBe(503);
      expect(a.ms).toBeLessThan(800);
    }
    for (const a of answers) expect(a.status).toBe(503);
  }, 30_000);

  it('answers 503, not 500, while the database is cut, and stores again once it is back', async () => {
    await proxy.cut();
    const res = await request(server).post('/api/feedback/submit').send(FEEDBACK);
    expect(res.status).toBe(503);
    await proxy.restore();
    let status = 0;
    for (let attempt = 0; attempt < 40 && status !== 201; attempt++) {
      status = (await request(server).post('/api/feedback/submit').send(FEEDBACK)).status;
      if (status !== 201) await sleep(250);
      else created++;
    }
    expect(status).toBe(201);
    // Rows stored are exactly the 201s: nothing refused during the outage was stored.
    expect(await rowCount(t)).toBe(created);
  }, 30_000);
});

describePostgres('one bad row in a group-committed INSERT', () => {
  it('fails alone: its batch neighbours are stored', async () => {
    const db = await createTestDatabase();
    const dataSource = await new DataSource({
      ...buildDataSourceOptions(
        { type: 'postgres', url: db.url, statementTimeoutMs: 5000, acquireTimeoutMs: 5000 },
        { entities: [FeedbackEntity] },
      ),
    }).initialize();
    try {
      await runMigrations(dataSource);
      const repository = new FeedbackRepository(dataSource);
      const row = (i: number, comment: string) =>
        Object.assign(new FeedbackEntity(), {
          id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
          targetType: 'general',
          targetId: null,
          rating: 3,
          comment,
          category: 'other',
          tags: [],
          metadata: null,
          sentiment: 'neutral',
          userId: null,
          requestId: null,
          idempotencyKey: null,
          createdAt: new Date(),
        });
      // Validation refuses NUL before any of this; here it stands for any row PostgreSQL rejects.
      await expect(
        repository.insertMany([row(1, 'fine'), row(2, 'nul \u0000 here'), row(3, 'fine')]),
      ).rejects.toMatchObject({ driverError: { code: '22021' } });
      const writer = new FeedbackWriter(repository, { writeQueueMax: 100 } as never);
      const results = await Promise.allSettled(
        [row(11, 'a'), row(12, 'b \u0000'), row(13, 'c'), row(14, 'd')].map((r) => writer.write(r)),
      );
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      const ids = (await dataSource.query('SELECT id FROM feedback ORDER BY id')).map(
        (r: { id: string }) => r.id,
      );
      expect(ids.map((id: string) => Number(id.slice(-12)))).toEqual([11, 13, 14]);
    } finally {
      await dataSource.destroy();
      await db.drop();
    }
  });
});

describe('hostile timing from clients', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ REQUEST_TIMEOUT_MS: '1000' });
    await new Promise<void>((resolve) => t.app.getHttpServer().listen(0, '127.0.0.1', resolve));
  });

  afterAll(() => t.close());

  it('closes a connection whose body trickles in slower than REQUEST_TIMEOUT_MS', async () => {
    const { port } = t.app.getHttpServer().address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    const closed = new Promise<number>((resolve) => {
      const started = Date.now();
      socket.on('close', () => resolve(Date.now() - started));
    });
    socket.write(
      'POST /api/feedback/submit HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
    );
    const trickle = setInterval(() => socket.write(' '), 300);
    try {
      const ms = await Promise.race([closed, sleep(8000).then(() => -1)]);
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThan(5000);
      expect(received).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });
});

describe('SIGTERM', () => {
  it('tells clients to close during the grace period, then exits 0 with nothing lost', async () => {
    const app = await startBuiltApp({ ENVIRONMENT: 'production', SHUTDOWN_GRACE_MS: '1500', LOG_DIR: '' });
    const before = await fetch(app.url);
    expect(before.headers.get('connection')).toBe('keep-alive');
    const exited = app.stop();
    await sleep(300);
    const during = await fetch(`${app.url}/api/feedback/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(FEEDBACK),
    });
    expect(during.status).toBe(201);
    expect(during.headers.get('connection')).toBe('close');
    const ready = await fetch(`${app.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await exited).toEqual([0, null]);
    expect(app.output()).toContain('SIGTERM received: stopping');
  }, 30_000);
});
