import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { parseConfig } from '@app/config';
import { ErrorTracker } from '@app/error-tracking';
import { AppLogger } from '@app/logging';
import { initSentry, SENTRY_MAX_IN_FLIGHT, sentryMode } from '@app/sentry';
import { createTestApp, type TestApp } from './support/app';
import { parseExposition, valueOf } from './support/exposition';
import { ProbeController } from './support/probe.controller';
import { SentryReceiver } from './support/sentry-receiver';

type SentryEvent = {
  event_id: string;
  level?: string;
  message?: string;
  release?: string;
  environment?: string;
  tags?: Record<string, string>;
  user?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  contexts?: { trace?: { trace_id: string; span_id: string; parent_span_id?: string } };
  exception?: {
    values: Array<{ type: string; value: string; stacktrace?: { frames: Array<{ filename?: string }> } }>;
  };
};

// Sentry is one per process: this file runs it in errors-only mode (the default), through the real SDK
// transport, against a real HTTP server on loopback.
describe('error tracking with Sentry in errors-only mode', () => {
  let receiver: SentryReceiver;
  let t: TestApp;
  let server: Parameters<typeof request>[0];
  const events = () => receiver.events() as SentryEvent[];
  const byRequest = (id: string) => events().filter((e) => e.tags?.request_id === id);

  beforeAll(async () => {
    receiver = await SentryReceiver.start();
    const env = { SENTRY_DSN: receiver.dsn, ENVIRONMENT: 'staging', RELEASE_VERSION: '9.8.7' };
    expect(initSentry(parseConfig(env))).toBe('errors');
    t = await createTestApp(env, { controllers: [ProbeController] });
    server = t.app.getHttpServer();
  });

  afterAll(async () => {
    await t.close();
    await receiver.stop();
  });

  it('reports a thrown error once, with type, message, stack, request id, trace, route, user, release and environment', async () => {
    const res = await request(server)
      .get('/e2e-probe/boom')
      .set('x-request-id', 'boom-1')
      .set('x-user-id', 'user-42')
      .expect(500);
    const [event] = await receiver.waitFor(() => byRequest('boom-1'), 1);
    // The request's own trace (it sent none), as its response and log lines name it.
    const [, traceId, spanId] = (res.headers.traceresponse as string).split('-');
    expect(event.contexts?.trace).toMatchObject({ trace_id: traceId, span_id: spanId });
    expect(event.exception!.values[0]).toMatchObject({ type: 'Error', value: 'kaboom: internal detail' });
    const frames = event.exception!.values[0].stacktrace!.frames;
    expect(frames.some((frame) => frame.filename?.endsWith('probe.controller.ts'))).toBe(true);
    expect(event.tags).toMatchObject({ request_id: 'boom-1', route: '/e2e-probe/boom', method: 'GET' });
    expect(event.user).toEqual({ id: 'user-42' });
    expect(event).toMatchObject({ release: '9.8.7', environment: 'staging', level: 'error' });
    await sleep(300);
    expect(byRequest('boom-1')).toHaveLength(1);
  });

  it("gives each of 100 concurrent failures its own request id, user and caller's trace", async () => {
    const trace = (i: number) => `e${String(i).padStart(31, '0')}`;
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        request(server)
          .get('/e2e-probe/boom')
          .set('x-request-id', `burst-${i}`)
          .set('x-user-id', `user-${i}`)
          .set('traceparent', `00-${trace(i)}-${'5'.repeat(16)}-01`)
          .expect(500),
      ),
    );
    const burst = await receiver.waitFor(
      () => events().filter((e) => e.tags?.request_id?.startsWith('burst-')),
      100,
    );
    expect(burst).toHaveLength(100);
    for (const event of burst) {
      const n = event.tags!.request_id.slice('burst-'.length);
      expect(event.user).toEqual({ id: `user-${n}` });
      expect(event.contexts?.trace).toMatchObject({
        trace_id: trace(Number(n)),
        parent_span_id: '5'.repeat(16),
      });
    }
    expect(new Set(burst.map((e) => e.tags!.request_id)).size).toBe(100);
  });

  it('sends nothing for a 404, a 400 or an HttpException below 500', async () => {
    await request(server).get('/nothing/here').set('x-request-id', 'quiet-404').expect(404);
    await request(server)
      .post('/e2e-probe')
      .set('x-request-id', 'quiet-400')
      .send({ rating: 'x' })
      .expect(400);
    await request(server).get('/e2e-probe/teapot').set('x-request-id', 'quiet-418').expect(418);
    await request(server).get('/e2e-probe/boom').set('x-request-id', 'marker-after-quiet').expect(500);
    await receiver.waitFor(() => byRequest('marker-after-quiet'), 1);
    expect([...byRequest('quiet-404'), ...byRequest('quiet-400'), ...byRequest('quiet-418')]).toEqual([]);
  });

  it('never lets a password or a token reach Sentry', async () => {
    await request(server)
      .post('/e2e-probe/explode')
      .set('x-request-id', 'secret-1')
      .set('authorization', 'Bearer hunter2-token')
      .set('cookie', 'session=hunter2-cookie')
      .send({ username: 'ada', password: 'hunter2-password' })
      .expect(500);
    t.app.get(AppLogger).logError('LoginError', 'Login failed', {
      username: 'ada',
      password: 'hunter2-context',
      nested: { api_key: 'hunter2-key' },
    });
    const [event] = await receiver.waitFor(() => byRequest('secret-1'), 1);
    expect(event.exception!.values[0].value).toBe('exploded while handling ada');
    const [message] = await receiver.waitFor(() => events().filter((e) => e.message === 'Login failed'), 1);
    expect(message).toMatchObject({
      tags: { error_type: 'LoginError' },
      extra: { username: 'ada', password: '[REDACTED]' },
    });
    // Logged outside any request: it must not inherit the tags of the request before it.
    expect(message.tags?.request_id).toBeUndefined();
    expect(message.tags?.route).toBeUndefined();
    expect(receiver.rawBodies.join('\n')).not.toContain('hunter2');
  });

  it('drops and counts reports beyond its queue while the ingest hangs, without slowing requests', async () => {
    const tracker = t.app.get(ErrorTracker);
    const dropped = async () =>
      valueOf(
        parseExposition((await request(server).get('/metrics').expect(200)).text),
        'terra_constellata_error_reports_dropped_total',
        { reason: 'queue_full' },
      );
    const before = await dropped();
    receiver.hangRequests();
    for (let i = 0; i < SENTRY_MAX_IN_FLIGHT + 20; i++) tracker.captureError(new Error(`flood ${i}`));
    await sleep(300);
    const started = Date.now();
    await request(server).get('/').expect(200);
    expect(Date.now() - started).toBeLessThan(500);
    expect((await dropped()) - before).toBeGreaterThanOrEqual(20);
    receiver.release();
  });

  it('sends what is pending when the app shuts down', async () => {
    receiver.delayMs = 300;
    const other = await createTestApp({ SENTRY_DSN: receiver.dsn }, { controllers: [ProbeController] });
    await request(other.app.getHttpServer())
      .get('/e2e-probe/boom')
      .set('x-request-id', 'at-shutdown')
      .expect(500);
    await other.close();
    expect(byRequest('at-shutdown')).toHaveLength(1);
    receiver.delayMs = 0;
  });

  it('reports that it runs in errors-only mode', () => {
    expect(sentryMode()).toBe('errors');
  });
});
