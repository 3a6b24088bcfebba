import request from 'supertest';
import { ConfigError, parseConfig } from '@app/config';
import { createTestApp, type TestApp } from './support/app';

const ID = '0b6f8f9e-8a53-4f4e-9a57-2f3a1c2d3e4f';

describe('405 for a known path with a wrong method', () => {
  let t: TestApp;
  let server: Parameters<typeof request>[0];

  beforeAll(async () => {
    t = await createTestApp();
    server = t.app.getHttpServer();
  });
  afterAll(() => t.close());

  it.each([
    ['DELETE', '/api/feedback/submit', 'POST'],
    ['GET', '/api/feedback/submit', 'POST'],
    ['GET', `/api/workflows/${ID}/complete`, 'POST'],
    ['PUT', `/api/workflows/${ID}`, 'GET, HEAD'],
    ['POST', '/api/feedback/stats?target_type=workflow', 'GET, HEAD'],
    ['OPTIONS', '/api/feedback/submit', 'POST'],
  ])('%s %s is 405 with Allow: %s and the standard error body', async (method, path, allow) => {
    const res = await request(server)[method.toLowerCase() as 'get'](path);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body).toEqual({
      statusCode: 405,
      error: 'Method Not Allowed',
      message: `${method} is not allowed here; use ${allow}`,
      request_id: res.headers['x-request-id'],
    });
  });

  it('keeps 404 for a path that exists with no method', async () => {
    const res = await request(server).delete('/api/nothing/here').expect(404);
    expect(res.headers.allow).toBeUndefined();
  });

  it('answers no CORS headers and no preflight while CORS_ORIGINS is unset', async () => {
    const preflight = await request(server)
      .options('/api/feedback/submit')
      .set('origin', 'https://app.example.com')
      .set('access-control-request-method', 'POST');
    expect(preflight.status).toBe(405);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const get = await request(server)
      .get('/api/feedback/stats')
      .set('origin', 'https://app.example.com')
      .expect(200);
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS with CORS_ORIGINS', () => {
  let t: TestApp;
  let server: Parameters<typeof request>[0];

  beforeAll(async () => {
    t = await createTestApp({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' });
    server = t.app.getHttpServer();
  });
  afterAll(() => t.close());

  it('answers a listed origin preflight with the methods and headers a browser client needs', async () => {
    const res = await request(server)
      .options('/api/feedback/submit')
      .set('origin', 'https://app.example.com')
      .set('access-control-request-method', 'POST')
      .set('access-control-request-headers', 'content-type, idempotency-key');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(res.headers['access-control-allow-headers']).toContain('idempotency-key');
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers.vary).toContain('Origin');
  });

  it('lets a listed origin read the answer and its headers, and nobody else', async () => {
    const ok = await request(server)
      .post('/api/feedback/submit')
      .set('origin', 'http://localhost:5173')
      .send({ rating: 5 })
      .expect(201);
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(ok.headers['access-control-expose-headers']).toContain('x-request-id');
    const other = await request(server)
      .get('/api/feedback/stats')
      .set('origin', 'https://evil.example')
      .expect(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses * in production and anything that is not an origin, in one line', () => {
    const error = (env: Record<string, string>) => {
      try {
        parseConfig(env);
      } catch (e) {
        if (e instanceof ConfigError) return e.message;
        throw e;
      }
      return 'accepted';
    };
    expect(error({ CORS_ORIGINS: '*', ENVIRONMENT: 'production' })).toBe(
      'Invalid configuration: CORS_ORIGINS may not be * in production; list the origins that may call the API',
    );
    expect(error({ CORS_ORIGINS: '*', ENVIRONMENT: 'development' })).toBe('accepted');
    expect(error({ CORS_ORIGINS: 'https://app.example.com/path' })).toBe(
      'Invalid configuration: CORS_ORIGINS has "https://app.example.com/path"; expected a comma-separated list of origins like https://app.example.com (scheme, host, optional port; no path), or *',
    );
  });
});
