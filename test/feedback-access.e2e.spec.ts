import request from 'supertest';
import { ConfigError, parseConfig } from '@app/config';
import { createTestApp } from './support/app';

const READER = 'reader-token-0123456789';
const OTHER = 'second-reader-token-0123';

describe('who may read individual feedback', () => {
  it('in production with no read token configured: nobody, with a 403 that names the variable; aggregates stay public', async () => {
    const t = await createTestApp({ ENVIRONMENT: 'production' });
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
    const t = await createTestApp({ ENVIRONMENT: 'production', FEEDBACK_READ_TOKENS: `${READER}, ${OTHER}` });
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
