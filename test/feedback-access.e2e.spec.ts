import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ConfigError, parseConfig } from '@app/config';
import { createTestApp, type TestApp } from './support/app';
import { ENGINES } from './support/engines';

const READER = 'reader-token-0123456789';
const OTHER = 'second-reader-token-0123';

describe('who may read individual feedback', () => {
  it('in production with no read token configured: nobody, with a 403 that names the variable; aggregates stay public', async () => {
    const t = await createTestApp({ ENVIRONMENT: 'production', SHUTDOWN_GRACE_MS: '0' });
    try {
      const server = t.app.getHttpServer();
      await request(server)
        .post('/api/feedback/submit')
        .send({ rating: 2, comment: 'private words' })
        .expect(201);
      const res = await request(server).get('/api/feedback/recent').expect(403);
      expect(res.body.message).toContain('FEEDBACK_READ_TOKENS');
      expect(res.text).not.toContain('private words');
      const stats = await request(server).get('/api/feedback/stats').expect(200);
      expect(stats.body.total).toBe(1);
      await request(server).get('/api/feedback/insights').expect(200);
    } finally {
      await t.close();
    }
  });

  it('with read tokens configured: only a request carrying one of them', async () => {
    const t = await createTestApp({
      ENVIRONMENT: 'production',
      SHUTDOWN_GRACE_MS: '0',
      FEEDBACK_READ_TOKENS: `${READER}, ${OTHER}`,
    });
    try {
      const server = t.app.getHttpServer();
      await request(server)
        .post('/api/feedback/submit')
        .send({ rating: 4, comment: 'for readers' })
        .expect(201);
      const anonymous = await request(server).get('/api/feedback/recent').expect(401);
      expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="feedback"');
      expect(anonymous.text).not.toContain('for readers');
      await request(server)
        .get('/api/feedback/recent')
        .set('authorization', 'Bearer not-a-reader-token-xx')
        .expect(401);
      await request(server).get('/api/feedback/recent').set('authorization', READER).expect(401);
      for (const token of [READER, OTHER]) {
        const res = await request(server)
          .get('/api/feedback/recent')
          .set('authorization', `Bearer ${token}`)
          .expect(200);
        expect(res.body.items[0]).toMatchObject({ comment: 'for readers', rating: 4 });
      }
    } finally {
      await t.close();
    }
  });

  it('in development with no read token: anyone, as on a developer machine', async () => {
    const t = await createTestApp({ ENVIRONMENT: 'development', LOG_CONSOLE: 'off' });
    try {
      await request(t.app.getHttpServer()).get('/api/feedback/recent').expect(200);
    } finally {
      await t.close();
    }
  });

  it('refuses to start with a read token too short to be secret', () => {
    expect(() => parseConfig({ FEEDBACK_READ_TOKENS: `${READER},short` })).toThrow(ConfigError);
    expect(() => parseConfig({ FEEDBACK_READ_TOKENS: `${READER},short` })).toThrow(
      'Invalid configuration: FEEDBACK_READ_TOKENS must be a comma-separated list of tokens of 16 or more printable characters',
    );
  });
});

for (const engine of ENGINES)
  engine.describe(`Idempotency-Key belongs to its caller, endpoint and target (${engine.name})`, () => {
    let t: TestApp;
    let server: Parameters<typeof request>[0];
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      const setup = await engine.setup();
      cleanup = setup.cleanup;
      t = await createTestApp({ ...setup.env, FEEDBACK_IDEMPOTENCY_TTL_MS: '2000' });
      server = t.app.getHttpServer();
    });

    afterAll(async () => {
      await t.close();
      await cleanup();
    });

    const count = async () =>
      Number((await t.app.get(DataSource).query('SELECT COUNT(*) AS n FROM feedback'))[0].n);
    const submit = (path: string, user: string, body: object, key: string) =>
      request(server)
        .post(`/api/feedback/${path}`)
        .set('x-user-id', user)
        .set('idempotency-key', key)
        .send(body);

    it("never hands one user another's record, and stores both", async () => {
      const alice = await submit(
        'submit',
        'alice',
        { rating: 5, comment: 'alice private' },
        'shared-key',
      ).expect(201);
      const bob = await submit('submit', 'bob', { rating: 1, comment: 'bob words' }, 'shared-key').expect(
        201,
      );
      expect(bob.headers['idempotent-replayed']).toBeUndefined();
      expect(bob.body).toMatchObject({ user_id: 'bob', comment: 'bob words' });
      expect(bob.text).not.toContain('alice private');
      expect(bob.body.id).not.toBe(alice.body.id);
      const again = await submit(
        'submit',
        'alice',
        { rating: 5, comment: 'alice private' },
        'shared-key',
      ).expect(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body.id).toBe(alice.body.id);
    });

    it('treats the same key on another endpoint or target as another submission', async () => {
      const body = { rating: 3 };
      const general = await submit('submit', 'carol', body, 'k-1').expect(201);
      const workflow = await submit('workflow/wf-1', 'carol', body, 'k-1').expect(201);
      const otherWorkflow = await submit('workflow/wf-2', 'carol', body, 'k-1').expect(201);
      expect(new Set([general.body.id, workflow.body.id, otherWorkflow.body.id]).size).toBe(3);
    });

    it('refuses the same key with a different body (422), storing nothing new', async () => {
      const first = await submit('submit', 'dave', { rating: 4, comment: 'first' }, 'k-2').expect(201);
      const rows = await count();
      const changed = await submit('submit', 'dave', { rating: 4, comment: 'changed' }, 'k-2').expect(422);
      expect(changed.body).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity' });
      expect(changed.body.details[0]).toMatch(/^Idempotency-Key: already used for a different submission/);
      expect(changed.text).not.toContain('first');
      expect(await count()).toBe(rows);
      const same = await submit('submit', 'dave', { comment: 'first', rating: 4 }, 'k-2').expect(201);
      expect(same.body.id).toBe(first.body.id);
    });

    it('frees a key after FEEDBACK_IDEMPOTENCY_TTL_MS: the same key then stores a new submission', async () => {
      const first = await submit('submit', 'erin', { rating: 2 }, 'k-3').expect(201);
      await sleep(3000);
      const later = await submit('submit', 'erin', { rating: 2 }, 'k-3').expect(201);
      expect(later.headers['idempotent-replayed']).toBeUndefined();
      expect(later.body.id).not.toBe(first.body.id);
    }, 15_000);
  });
