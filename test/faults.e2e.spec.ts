import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, runMigrations } from '@app/database';
import {
  FeedbackAggregatesRepository,
  FeedbackEntity,
  FeedbackRepository,
  FeedbackWriter,
} from '@app/feedback';
import { createTestApp, type TestApp } from './support/app';
import { feedbackRow } from './support/feedback-row';
import { ProbeController } from './support/probe.controller';
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
  // Submissions answered 503 while the database crawled: their INSERT may still have committed.
  const slowKeys = Array.from({ length: 8 }, (_, i) => `slow-${i}`);

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

  it('answers 503 within the deadlines when the database crawls (2 s a packet), and recovers', async () => {
    await proxy.restore();
    await request(server).post('/api/feedback/submit').send(FEEDBACK).expect(201);
    created++;
    proxy.slow(2000);
    const answers = await Promise.all(
      slowKeys.map((key) =>
        timed(request(server).post('/api/feedback/submit').set('idempotency-key', key).send(FEEDBACK)),
      ),
    );
    for (const [res, ms] of answers) {
      expect(res.status).toBe(503);
      expect(ms).toBeLessThan(6000);
    }
    const [read, readMs] = await timed(request(server).get('/api/feedback/stats'));
    expect(read.status).toBe(503);
    expect(readMs).toBeLessThan(6000);
    proxy.slow(0);
    await proxy.blackhole();
  }, 60_000);

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
    for (const a of answers) {
      expect(a.status).toBe(503);
      // Those that did wait are bounded by the statement timeout (1 s), twice at most: never the outage.
      expect(a.ms).toBeLessThan(6000);
    }
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
    // A 503 does not say the row was not stored: the crawling database may have committed an INSERT whose
    // answer came too late. Retried with the same Idempotency-Key, each is stored exactly once.
    for (const key of slowKeys) {
      const retry = await request(server)
        .post('/api/feedback/submit')
        .set('idempotency-key', key)
        .send(FEEDBACK);
      expect(retry.status).toBe(201);
      created++;
    }
    // Rows stored are exactly the 201s: nothing refused during the outages stayed stored without its retry.
    expect(await rowCount(t)).toBe(created);
  }, 30_000);
});

describePostgres('NUL characters among concurrent submissions on PostgreSQL', () => {
  it('are 400s naming the field, and never take their neighbours down', async () => {
    const db = await createTestDatabase();
    const t = await createTestApp({ ENVIRONMENT: 'production', DATABASE_URL: db.url });
    try {
      const server = t.app.getHttpServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      const bad = [
        { rating: 2, comment: 'nul \u0000 in comment' },
        { rating: 2, tags: ['ok', 'n\u0000l'] },
        { rating: 2, metadata: { note: 'a\u0000b' } },
      ];
      const bodies = Array.from({ length: 1000 }, (_, i) =>
        i % 100 === 7 ? bad[i % 3] : { rating: 1 + (i % 5), comment: `valid ${i}` },
      );
      const answers = await Promise.all(
        bodies.map(async (body) => {
          const res = await fetch(`http://127.0.0.1:${port}/api/feedback/submit`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          return { status: res.status, body: (await res.json()) as { details?: string[] } };
        }),
      );
      const rejected = answers.filter((a) => a.status === 400);
      expect(rejected).toHaveLength(10);
      for (const a of rejected)
        expect(a.body.details?.[0]).toMatch(/^(comment|tags\.1|metadata\.note): must not contain NUL/);
      expect(answers.filter((a) => a.status === 201)).toHaveLength(990);
      expect(await rowCount(t)).toBe(990);
    } finally {
      await t.close();
      await db.drop();
    }
  }, 60_000);
});

describePostgres('one bad row in a group-committed INSERT', () => {
  it('fails alone: its batch neighbours are stored', async () => {
    const db = await createTestDatabase();
    const dataSource = await new DataSource({
      ...buildDataSourceOptions(
        { type: 'postgres', url: db.url, statementTimeoutMs: 5000, acquireTimeoutMs: 5000, poolSize: 10 },
        { entities: [FeedbackEntity] },
      ),
    }).initialize();
    try {
      await runMigrations(dataSource);
      const repository = new FeedbackRepository(
        dataSource,
        new FeedbackAggregatesRepository(dataSource, { database: { acquireTimeoutMs: 5000 } } as never),
      );
      const row = (i: number, comment: string) =>
        feedbackRow({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, comment });
      // Validation refuses NUL before any of this; here it stands for any row PostgreSQL rejects.
      await expect(
        repository.insertMany([row(1, 'fine'), row(2, 'nul \u0000 here'), row(3, 'fine')]),
      ).rejects.toMatchObject({ driverError: { code: '22021' } });
      const writer = new FeedbackWriter(repository, {
        writeQueueMax: 100,
        database: { statementTimeoutMs: 5000 },
      } as never);
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

describe('the request deadline', () => {
  it('answers 503 with Retry-After a request whose handler is still busy after REQUEST_DEADLINE_MS', async () => {
    const t = await createTestApp({ REQUEST_DEADLINE_MS: '500' }, { controllers: [ProbeController] });
    try {
      const server = t.app.getHttpServer();
      const [res, ms] = await timed(
        request(server).get('/e2e-probe/slow?ms=2000').set('x-request-id', 'late-1'),
      );
      expect(res.status).toBe(503);
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(1500);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The request took longer than REQUEST_DEADLINE_MS (500 ms); retry after 5 seconds',
        request_id: 'late-1',
      });
      // A request within the deadline is untouched, and the late handler's own answer breaks nothing.
      await request(server).get('/e2e-probe/slow?ms=50').expect(200);
      await sleep(1700);
      await request(server).get('/').expect(200);
    } finally {
      await t.close();
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

describe('SIGTERM under a write load', () => {
  it('loses no request the server accepted, stores exactly the 201s, and exits 0', async () => {
    const app = await startBuiltApp({ ENVIRONMENT: 'production', SHUTDOWN_GRACE_MS: '1000', LOG_DIR: '' });
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const outcomes = new Map<string, number>();
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const post = () =>
      new Promise<void>((resolve) => {
        const req = httpRequest(
          `${app.url}/api/feedback/submit`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => {
              count(String(res.statusCode));
              resolve();
            });
          },
        );
        req.on('error', (error: NodeJS.ErrnoException) => {
          count(error.code ?? error.message);
          resolve();
        });
        req.end(JSON.stringify(FEEDBACK));
      });
    let stopping = false;
    const loops = Array.from({ length: 32 }, async () => {
      // Bounded: each loop stops at its first refused or reset connection once stopping, or after 400 requests.
      for (let i = 0; i < 400; i++) {
        const before = (outcomes.get('ECONNREFUSED') ?? 0) + (outcomes.get('ECONNRESET') ?? 0);
        await post();
        const after = (outcomes.get('ECONNREFUSED') ?? 0) + (outcomes.get('ECONNRESET') ?? 0);
        if (stopping && after > before) return;
      }
    });
    await sleep(500);
    stopping = true;
    const exited = app.stop();
    await Promise.all(loops);
    agent.destroy();
    expect(await exited).toEqual([0, null]);
    const created = outcomes.get('201') ?? 0;
    expect(created).toBeGreaterThan(100);
    // No request was answered with anything but 201, and none hung up mid-response. A client that opened its
    // connection as the listener closed finds it refused, or reset when it was still in the kernel's accept
    // queue: at most one per client, and the rows below show the server never saw those requests.
    for (const key of outcomes.keys()) expect(['201', 'ECONNREFUSED', 'ECONNRESET']).toContain(key);
    expect(outcomes.get('ECONNRESET') ?? 0).toBeLessThanOrEqual(32);
    const db = new Database(join(app.cwd, 'data', 'terra_constellata.sqlite'), { readonly: true });
    try {
      expect((db.prepare('SELECT COUNT(*) AS n FROM feedback').get() as { n: number }).n).toBe(created);
    } finally {
      db.close();
    }
  }, 60_000);
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
