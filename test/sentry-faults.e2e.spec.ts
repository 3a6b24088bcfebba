import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { parseConfig } from '@app/config';
import { ErrorTracker } from '@app/error-tracking';
import { initSentry } from '@app/sentry';
import { createTestApp, type TestApp } from './support/app';
import { parseExposition, valueOf } from './support/exposition';
import { SentryReceiver } from './support/sentry-receiver';

// One Sentry per test file (Jest gives each its own globals): this one has a short send timeout.
describe('error reports when the Sentry ingest fails', () => {
  let receiver: SentryReceiver;
  let t: TestApp;
  let server: Parameters<typeof request>[0];
  let tracker: ErrorTracker;

  const dropped = async (reason: string) =>
    valueOf(
      parseExposition((await request(server).get('/metrics').expect(200)).text),
      'terra_constellata_error_reports_dropped_total',
      { reason },
    );
  // Sends are asynchronous and slower on a loaded machine: wait (bounded) for the count, then assert it.
  const droppedReaching = async (reason: string, expected: number) => {
    let count = await dropped(reason);
    for (let i = 0; i < 100 && count < expected; i++) {
      await sleep(100);
      count = await dropped(reason);
    }
    return count;
  };
  const logLines = async (): Promise<Array<Record<string, unknown>>> => {
    await sleep(400); // log lines are written in batches every 250 ms
    return readFileSync(join(t.config.logDir, 'terra_constellata.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };
  const stateLines = async () =>
    (await logLines()).filter((l) => String(l.msg).startsWith('Sentry: error reports are')).map((l) => l.msg);
  // By the exception's own message: an event's source context lines can quote this file.
  const delivered = (message: string) =>
    receiver
      .events()
      .filter(
        (e) =>
          (e.exception as { values?: Array<{ value?: string }> } | undefined)?.values?.[0]?.value === message,
      ).length;

  beforeAll(async () => {
    receiver = await SentryReceiver.start();
    const env = { SENTRY_DSN: receiver.dsn, SENTRY_SEND_TIMEOUT_MS: '500', ENVIRONMENT: 'production' };
    expect(initSentry(parseConfig(env))).toBe('errors');
    t = await createTestApp(env);
    server = t.app.getHttpServer();
    tracker = t.app.get(ErrorTracker);
  });

  afterAll(async () => {
    await t.close();
    await receiver.stop();
  });

  it('exports every drop reason from the start, at 0', async () => {
    for (const reason of ['queue_full', 'network', 'timeout', 'rejected'])
      expect(await dropped(reason)).toBe(0);
  });

  it('gives up on a send the ingest never answers, counts it, and delivers again once the ingest answers', async () => {
    receiver.hangRequests();
    for (let i = 0; i < 5; i++) tracker.captureError(new Error(`hung ${i}`));
    expect(await droppedReaching('timeout', 5)).toBe(5);
    // The ingest answers again, but the five requests it holds are never answered: delivery must not wait on them.
    receiver.stopHanging();
    for (let i = 0; i < 25; i++) tracker.captureError(new Error(`after recovery ${i}`));
    const recovered = Array.from({ length: 25 }, (_, i) => `after recovery ${i}`);
    await receiver.waitFor(() => recovered.filter((message) => delivered(message) === 1), 25, 5000);
    expect(await stateLines()).toEqual([
      'Sentry: error reports are not being delivered; they are dropped and counted in terra_constellata_error_reports_dropped_total until delivery works again',
      'Sentry: error reports are delivered again',
    ]);
    receiver.release();
  }, 20_000);

  it('counts reports the ingest rejects (429, 5xx)', async () => {
    receiver.status = 429;
    tracker.captureError(new Error('rejected 0'));
    expect(await droppedReaching('rejected', 1)).toBe(1);
    // The SDK now holds back for the second the ingest asked for: those are refused as well.
    for (let i = 1; i < 3; i++) tracker.captureError(new Error(`rejected ${i}`));
    expect(await droppedReaching('rejected', 3)).toBe(3);
    receiver.status = 200;
    await sleep(1100);
    tracker.captureError(new Error('accepted again'));
    await receiver.waitFor(() => (delivered('accepted again') === 1 ? ['accepted again'] : []), 1);
    expect(delivered('rejected 0')).toBe(1); // it did reach the ingest, which refused it
    expect(delivered('rejected 1')).toBe(0); // held back by the SDK, never sent
  });

  it('counts reports it cannot send because the ingest refuses connections, without slowing requests', async () => {
    await receiver.stop();
    for (let i = 0; i < 10; i++) tracker.captureError(new Error(`refused ${i}`));
    const started = Date.now();
    await request(server).get('/').expect(200);
    expect(Date.now() - started).toBeLessThan(500);
    expect(await droppedReaching('network', 10)).toBe(10);
    const lines = await stateLines();
    expect(lines.filter((l) => String(l).includes('not being delivered'))).toHaveLength(3);
  });
});
