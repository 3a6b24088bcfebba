import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import request from 'supertest';
import { RequestContextService } from '@app/logging';
import { createTestApp, type TestApp } from './support/app';
import { BUILT_MAIN, startBuiltApp } from './support/built-app';
import { ProbeController } from './support/probe.controller';
import { TOKEN_PATTERN } from '@app/common';

const ERROR_KEYS = ['error', 'message', 'request_id', 'statusCode'];

/** A module that adds Nest middleware, as nestjs-pino's LoggerModule, nestjs-cls or any app module may. */
@Module({})
class MiddlewareModule implements NestModule {
  constructor(private readonly context: RequestContextService) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply((_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void) => {
        // Middleware runs inside the request context like everything after the first hook.
        res.setHeader('x-middleware-saw', this.context.requestId ?? 'no context');
        next();
      })
      .forRoutes('*path');
  }
}

describe('an app with Nest middleware', () => {
  it('starts, and its middleware runs inside the request context', async () => {
    const t = await createTestApp({}, { imports: [MiddlewareModule] });
    try {
      const res = await request(t.app.getHttpServer()).get('/').set('x-request-id', 'mw-1').expect(200);
      expect(res.headers['x-middleware-saw']).toBe('mw-1');
      expect(t.app.getHttpAdapter().getInstance().hasPlugin('@fastify/middie')).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('is the only kind of app that mounts the middleware layer (it costs every request)', async () => {
    const t = await createTestApp();
    try {
      expect(t.app.getHttpAdapter().getInstance().hasPlugin('@fastify/middie')).toBe(false);
    } finally {
      await t.close();
    }
  });
});

describe('the app over HTTP (production configuration)', () => {
  let t: TestApp;
  let server: Parameters<typeof request>[0];

  beforeAll(async () => {
    t = await createTestApp({ ENVIRONMENT: 'production' }, { controllers: [ProbeController] });
    server = t.app.getHttpServer();
  });

  afterAll(() => t.close());

  it('serves the service info with security headers and a request id', async () => {
    const res = await request(server).get('/').expect(200);
    expect(res.body).toEqual({
      service: 'terra_constellata',
      version: t.config.releaseVersion,
      environment: 'production',
    });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers['strict-transport-security']).toMatch(/^max-age=/);
    expect(res.headers['x-xss-protection']).toBeUndefined();
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('echoes a sane client request id and replaces one that is not', async () => {
    const kept = await request(server).get('/').set('x-request-id', 'req-123.abc:7').expect(200);
    expect(kept.headers['x-request-id']).toBe('req-123.abc:7');
    // The pattern the OpenAPI document gives for x-request-id, which the server applies: no `@` (user ids may have one).
    const documented = new RegExp(TOKEN_PATTERN);
    expect(documented.test('req-123.abc:7')).toBe(true);
    for (const bad of ['has spaces', 'x'.repeat(129), 'a"b', '<script>', 'someone@example.com']) {
      expect(documented.test(bad)).toBe(false);
      const res = await request(server).get('/').set('x-request-id', bad).expect(200);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('validates and transforms a body into its DTO', async () => {
    const res = await request(server).post('/e2e-probe').send({ rating: 5, name: 'ok' }).expect(201);
    expect(res.body).toEqual({ received: { rating: 5, name: 'ok' }, isDto: true });
  });

  it('rejects bad fields with a 400 that names each field and why, and rejects unknown fields', async () => {
    const res = await request(server)
      .post('/e2e-probe')
      .set('x-request-id', 'bad-body-1')
      .send({ rating: 9, name: 'far too long', extra: true })
      .expect(400);
    expect(Object.keys(res.body).sort()).toEqual([...ERROR_KEYS, 'details'].sort());
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', request_id: 'bad-body-1' });
    // One line for people, the list for programs.
    expect(res.body.message).toBe((res.body.details as string[]).join('; '));
    expect(res.body.details).toEqual(
      expect.arrayContaining([
        'rating: rating must not be greater than 5',
        'name: name must be shorter than or equal to 5 characters',
        'extra: property extra should not exist',
      ]),
    );
  });

  it('answers a missing required field with 400, not 500', async () => {
    const res = await request(server).post('/e2e-probe').send({}).expect(400);
    expect(res.body.details).toEqual(expect.arrayContaining([expect.stringMatching(/^rating: /)]));
  });

  it('answers malformed JSON with a shaped 400', async () => {
    const res = await request(server)
      .post('/e2e-probe')
      .set('content-type', 'application/json')
      .send('{"rating":')
      .expect(400);
    expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
    expect(res.body.message).toMatch(/JSON/);
  });

  it('answers a body over the limit (100 kB) with a shaped 413', async () => {
    const res = await request(server)
      .post('/e2e-probe')
      .send({ rating: 1, name: 'x'.repeat(t.config.bodyLimitBytes) })
      .expect(413);
    expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
    expect(res.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    expect(t.config.bodyLimitBytes).toBe(100 * 1024);
  });

  it('answers an unsupported content type with a shaped 415', async () => {
    const res = await request(server)
      .post('/e2e-probe')
      .set('content-type', 'application/xml')
      .send('<a/>')
      .expect(415);
    expect(res.body).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
  });

  it('answers an unknown route with a shaped 404', async () => {
    const res = await request(server).get('/no/such/route').set('x-request-id', 'nf-1').expect(404);
    expect(res.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'Cannot GET /no/such/route',
      request_id: 'nf-1',
    });
  });

  it('never echoes the query string of an unknown route: it can carry tokens', async () => {
    const res = await request(server).get('/nope?token=SECRET-in-query&x=1').expect(404);
    expect(res.body.message).toBe('Cannot GET /nope');
    expect(res.text).not.toContain('SECRET');
  });

  it('keeps the status and message of an HttpException', async () => {
    const res = await request(server).get('/e2e-probe/teapot').expect(418);
    expect(res.body).toMatchObject({ statusCode: 418, message: 'short and stout' });
  });

  it('turns an unknown error into a 500 that reveals nothing in production', async () => {
    const res = await request(server).get('/e2e-probe/boom').set('x-request-id', 'boom-1').expect(500);
    expect(res.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
      request_id: 'boom-1',
    });
    expect(JSON.stringify(res.body)).not.toContain('kaboom');
  });
});

describe('the app over HTTP (development configuration)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ ENVIRONMENT: 'development' }, { controllers: [ProbeController] });
  });

  afterAll(() => t.close());

  it('shows the stack of a 500 to the developer', async () => {
    const res = await request(t.app.getHttpServer()).get('/e2e-probe/boom').expect(500);
    expect(res.body.message).toBe('Internal server error');
    expect(res.body.stack).toContain('kaboom: internal detail');
  });
});

describe.each(['staging', 'test', 'production'])('the app over HTTP (%s configuration)', (environment) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ ENVIRONMENT: environment }, { controllers: [ProbeController] });
  });

  afterAll(() => t.close());

  it('answers a 500 without its stack (only development shows it)', async () => {
    const res = await request(t.app.getHttpServer()).get('/e2e-probe/boom').expect(500);
    expect(res.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
      request_id: res.headers['x-request-id'],
    });
  });
});

describe('the built service (dist/apps/api/src/main.js)', () => {
  // Fails before listening, so it is run directly rather than through startBuiltApp.
  function runToExit(
    env: Record<string, string>,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BUILT_MAIN], {
        env: { PATH: process.env.PATH, LOG_DIR: '', ...env },
        cwd: mkdtempSync(join(tmpdir(), 'tc-main-')),
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it.each([
    [{ PORT: 'abc' }, 'Invalid configuration: PORT is "abc"; expected an integer from 0 to 65535'],
    [
      { SENTRY_TRACES_SAMPLE_RATE: '2' },
      'Invalid configuration: SENTRY_TRACES_SAMPLE_RATE is "2"; expected a number',
    ],
    [{ DATABASE_URL: 'postgres://app:hunter2@' }, 'Invalid configuration: DATABASE_URL is not a URL'],
  ])('stops on %j with exit code 78 and one line on stderr', async (env, expected) => {
    const { code, stdout, stderr } = await runToExit(env);
    expect(code).toBe(78);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain(expected);
    expect(stderr + stdout).not.toContain('hunter2');
  });

  it('starts on the embedded database with no set-up and stops cleanly on SIGTERM', async () => {
    const app = await startBuiltApp({ ENVIRONMENT: 'production', LOG_DIR: '' });
    const res = await fetch(app.url);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ service: 'terra_constellata', environment: 'production' });
    expect(existsSync(join(app.cwd, 'data', 'terra_constellata.sqlite'))).toBe(true);
    // A clean stop: the app closes (logs and Sentry flushed), then the process exits 0.
    expect(await app.stop()).toEqual([0, null]);
  });
});
