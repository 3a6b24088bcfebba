import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { parseConfig } from '@app/config';
import { initSentry } from '@app/sentry';
import { createTestApp, type TestApp } from './support/app';
import { ProbeController } from './support/probe.controller';
import { SentryReceiver } from './support/sentry-receiver';
import { postgresAvailable } from './support/postgres';
import { databaseBehindProxy, type TcpProxy } from './support/tcp-proxy';
import type { TestDatabase } from './support/postgres';

// Markers that must never leave the request they came in: credentials in headers and query strings anywhere,
// and secret-named body fields anywhere but the caller's own record.
const HEADER_SECRETS = {
  authorization: 'Bearer MARK-authorization-9f1',
  cookie: 'session=MARK-cookie-9f1',
  'x-api-key': 'MARK-api-key-header-9f1',
};
const QUERY_SECRET = 'MARK-query-token-9f1';
const BODY_SECRETS = { password: 'MARK-metadata-password-9f1', token: 'MARK-metadata-token-9f1' };
const ALL = [...Object.values(HEADER_SECRETS), QUERY_SECRET, ...Object.values(BODY_SECRETS)];

describe('secrets sent to the service never leave the request', () => {
  let receiver: SentryReceiver;
  let t: TestApp;
  let server: Parameters<typeof request>[0];
  let proxy: TcpProxy | undefined;
  let db: TestDatabase | undefined;
  const responses: string[] = [];
  let ownEcho = '';

  beforeAll(async () => {
    receiver = await SentryReceiver.start();
    const env: Record<string, string> = {
      ENVIRONMENT: 'production',
      SHUTDOWN_GRACE_MS: '0',
      SENTRY_DSN: receiver.dsn,
      LOG_LEVEL: 'debug',
      FEEDBACK_READ_TOKENS: 'reader-token-0123456789',
      DATABASE_STATEMENT_TIMEOUT_MS: '1000',
      DATABASE_ACQUIRE_TIMEOUT_MS: '1000',
    };
    if (postgresAvailable) {
      let url: string;
      ({ db, proxy, url } = await databaseBehindProxy());
      env.DATABASE_URL = url;
    }
    initSentry(parseConfig(env));
    t = await createTestApp(env, { controllers: [ProbeController] });
    server = t.app.getHttpServer();
  });

  afterAll(async () => {
    await t.close();
    await receiver.stop();
    await proxy?.stop();
    await db?.drop();
  });

  const keep = (res: request.Response) => {
    responses.push(`${JSON.stringify(res.headers)}\n${res.text}`);
    return res;
  };

  it('goes through success, 4xx, 5xx and database-failure paths', async () => {
    const withSecrets = (req: request.Test) => req.set(HEADER_SECRETS);
    // Success, with a token in the query string of a write (ignored there).
    const ok = keep(
      await withSecrets(request(server).post(`/api/feedback/submit?token=${QUERY_SECRET}`)).send({
        rating: 4,
      }),
    );
    expect(ok.status).toBe(201);
    // The caller's own record comes back with its metadata, as it must: the one place body values may appear.
    const stored = await withSecrets(request(server).post('/api/feedback/submit')).send({
      rating: 4,
      metadata: BODY_SECRETS,
    });
    expect(stored.status).toBe(201);
    ownEcho = stored.text;
    responses.push(JSON.stringify(stored.headers));
    // 4xx: a bad field beside the secrets; an unknown route with a token in its query string.
    keep(
      await withSecrets(request(server).post('/api/feedback/submit')).send({
        rating: 9,
        metadata: BODY_SECRETS,
      }),
    );
    keep(await withSecrets(request(server).get(`/nope?token=${QUERY_SECRET}`)));
    keep(await withSecrets(request(server).get(`/api/feedback/stats?token=${QUERY_SECRET}`)));
    // 5xx: a handler that throws with the body in scope.
    const boom = keep(
      await withSecrets(request(server).post('/e2e-probe/explode')).send({
        username: 'ada',
        password: BODY_SECRETS.password,
      }),
    );
    expect(boom.status).toBe(500);
    // Database failure (PostgreSQL behind a proxy): writes and reads while it is cut.
    if (proxy) {
      await proxy.cut();
      const down = keep(
        await withSecrets(request(server).post('/api/feedback/submit')).send({
          rating: 2,
          metadata: BODY_SECRETS,
        }),
      );
      expect(down.status).toBe(503);
      keep(await withSecrets(request(server).get('/health')));
      keep(await withSecrets(request(server).get('/health/ready')));
      await proxy.restore();
    } else {
      process.stdout.write('secrets: PostgreSQL not available, the database-failure path was not run\n');
    }
    keep(await request(server).get('/metrics'));
    await receiver.waitFor(() => receiver.events(), 1);
    await sleep(500); // log lines are written in batches every 250 ms
  }, 30_000);

  it('finds none of them in any log file (console lines are the same lines), response, /metrics or Sentry event', () => {
    const logs = readdirSync(t.config.logDir)
      .map((name) => readFileSync(join(t.config.logDir, name), 'utf8'))
      .join('\n');
    expect(logs.length).toBeGreaterThan(1000);
    expect(logs).toContain('Unhandled Error'); // the 5xx was logged, with its request
    const sentry = receiver.rawBodies.join('\n');
    expect(sentry.length).toBeGreaterThan(100);
    for (const marker of ALL) {
      expect({ marker, inLogs: logs.includes(marker) }).toEqual({ marker, inLogs: false });
      expect({ marker, inSentry: sentry.includes(marker) }).toEqual({ marker, inSentry: false });
      for (const response of responses) {
        expect({ marker, inResponse: response.includes(marker) }).toEqual({ marker, inResponse: false });
      }
    }
    // The caller's own record echoes its own metadata, and nothing from its headers.
    expect(ownEcho).toContain(BODY_SECRETS.password);
    for (const marker of [...Object.values(HEADER_SECRETS), QUERY_SECRET])
      expect(ownEcho).not.toContain(marker);
  });
});
