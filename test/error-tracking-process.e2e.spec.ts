import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBuiltApp } from './support/built-app';
import { createTestDatabase, describePostgres, type TestDatabase } from './support/postgres';
import { SentryReceiver } from './support/sentry-receiver';

// These run the built service as its own process: OpenTelemetry's hooks (tracing mode) patch Node's module
// loader, which Jest replaces, and process-level failures need a process of their own.
describe('Sentry in the running service', () => {
  let receiver: SentryReceiver;

  beforeAll(async () => {
    receiver = await SentryReceiver.start();
  });

  afterAll(() => receiver.stop());

  it('is off without SENTRY_DSN: says so once, sends nothing, and serves', async () => {
    const app = await startBuiltApp({ ENVIRONMENT: 'production' });
    try {
      const res = await fetch(`${app.url}/nothing/here`);
      expect(res.status).toBe(404);
      expect((await fetch(`${app.url}/health`)).status).toBe(200);
    } finally {
      await app.stop();
    }
    const lines = app
      .output()
      .split('\n')
      .filter((line) => line.includes('Sentry'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      sentry: 'off',
      msg: expect.stringContaining('SENTRY_DSN unset'),
    });
    expect(receiver.rawBodies).toEqual([]);
  });

  it.each(['rejection', 'exception'])(
    'reports an unhandled %s outside requests at fatal, writes it to errors.log, and exits 1',
    async (crash) => {
      const app = await startBuiltApp(
        { SENTRY_DSN: receiver.dsn, CRASH: crash, ENVIRONMENT: 'production' },
        join(__dirname, 'fixtures', 'crash-after-start.js'),
      );
      const [code] = await new Promise<[number | null]>((resolve) =>
        app.child.on('exit', (c) => resolve([c])),
      );
      expect(code).toBe(1);
      const event = receiver
        .events()
        .find((e) => JSON.stringify(e).includes(`outside any request (${crash})`)) as Record<string, unknown>;
      expect(event).toMatchObject({
        level: 'fatal',
        extra: { origin: crash === 'rejection' ? 'unhandledRejection' : 'uncaughtException' },
      });
      const errorsLog = join(app.cwd, 'logs', 'errors.log');
      expect(existsSync(errorsLog)).toBe(true);
      const fatal = readFileSync(errorsLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { level: string; err?: { stack?: string } })
        .find((line) => line.level === 'FATAL');
      expect(fatal?.err?.stack).toContain(`outside any request (${crash})`);
    },
  );
});

describePostgres('Sentry tracing mode in the running service', () => {
  let receiver: SentryReceiver;
  let db: TestDatabase;

  beforeAll(async () => {
    receiver = await SentryReceiver.start();
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await receiver.stop();
    await db.drop();
  });

  it('sends transactions named by route, with spans for database queries', async () => {
    const app = await startBuiltApp({
      SENTRY_DSN: receiver.dsn,
      SENTRY_TRACES_SAMPLE_RATE: '1',
      DATABASE_URL: db.url,
      HEALTH_CACHE_MS: '0',
    });
    try {
      expect((await fetch(`${app.url}/health`)).status).toBe(200);
      const started = await fetch(`${app.url}/api/workflows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'map_rendering' }),
      });
      const workflowId = ((await started.json()) as { id: string }).id;
      expect((await fetch(`${app.url}/api/workflows/${workflowId}`)).status).toBe(200);
      // Sentry drops the transactions of 404s; this one checks no raw path leaks into a name anyway.
      expect((await fetch(`${app.url}/no/such/path/12345`)).status).toBe(404);
      const transactions = await receiver.waitFor(
        () => receiver.transactions().filter((t) => t.transaction !== 'Create Nest App'),
        3,
      );
      const names = transactions.map((t) => t.transaction);
      expect(names).toEqual(
        expect.arrayContaining(['GET /health', 'POST /api/workflows', 'GET /api/workflows/:id']),
      );
      expect(names.join(' ')).not.toContain('12345');
      expect(names.join(' ')).not.toContain(workflowId);
      const health = transactions.find((t) => t.transaction === 'GET /health') as {
        spans: Array<{ op?: string; description?: string }>;
      };
      expect(health.spans.some((span) => span.op === 'db' && /SELECT 1/.test(span.description ?? ''))).toBe(
        true,
      );
    } finally {
      await app.stop();
    }
    expect(app.output()).toContain('Sentry on, tracing 100 % of requests');
  });

  it('continues a W3C traceparent: sampled into the transaction, whose ids traceresponse and the log lines name', async () => {
    const app = await startBuiltApp({
      SENTRY_DSN: receiver.dsn,
      SENTRY_TRACES_SAMPLE_RATE: '0.01',
      DATABASE_URL: db.url,
    });
    const traceId = '7'.repeat(32);
    const before = receiver.transactions().length;
    try {
      // Not sampled by the caller: no transaction, whatever the local rate.
      const unsampled = await fetch(`${app.url}/`, {
        headers: { traceparent: `00-${'6'.repeat(32)}-${'1'.repeat(16)}-00` },
      });
      expect(unsampled.headers.get('traceresponse')).toMatch(
        new RegExp(`^00-${'6'.repeat(32)}-[0-9a-f]{16}-00$`),
      );
      const sampled = await fetch(`${app.url}/`, {
        headers: { traceparent: `00-${traceId}-${'2'.repeat(16)}-01` },
      });
      const [, responseTrace, spanId, flags] = sampled.headers.get('traceresponse')!.split('-');
      expect([responseTrace, flags]).toEqual([traceId, '01']);
      const [transaction] = await receiver.waitFor(
        () =>
          receiver
            .transactions()
            .slice(before)
            .filter((t) => t.transaction === 'GET /'),
        1,
      );
      expect((transaction.contexts as { trace: Record<string, string> }).trace).toMatchObject({
        trace_id: traceId,
        span_id: spanId,
        parent_span_id: '2'.repeat(16),
      });
      const requestId = sampled.headers.get('x-request-id')!;
      await app.stop();
      const lines = readFileSync(join(app.cwd, 'logs', 'terra_constellata.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.request_id === requestId);
      expect(lines.map((line) => line.msg)).toContain('API Request');
      for (const line of lines) expect(line).toMatchObject({ trace_id: traceId, span_id: spanId });
      expect(
        receiver
          .transactions()
          .slice(before)
          .filter((t) => (t.contexts as { trace: { trace_id: string } }).trace.trace_id === '6'.repeat(32)),
      ).toEqual([]);
    } finally {
      await app.stop();
    }
  });

  it("follows an upstream service's sampling decision from its sentry-trace header", async () => {
    const app = await startBuiltApp({
      SENTRY_DSN: receiver.dsn,
      SENTRY_TRACES_SAMPLE_RATE: '0.5',
      DATABASE_URL: db.url,
    });
    const traceId = 'a'.repeat(32);
    const before = receiver.transactions().length;
    try {
      for (let i = 0; i < 10; i++) {
        await fetch(`${app.url}/health/live`, {
          headers: { 'sentry-trace': `${'b'.repeat(32)}-${'c'.repeat(16)}-0` },
        });
      }
      await fetch(`${app.url}/health/live`, {
        headers: { 'sentry-trace': `${traceId}-${'d'.repeat(16)}-1` },
      });
      const [continued] = await receiver.waitFor(
        () =>
          receiver
            .transactions()
            .slice(before)
            .filter((t) => t.transaction === 'GET /health/live'),
        1,
      );
      expect((continued.contexts as { trace: { trace_id: string } }).trace.trace_id).toBe(traceId);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(
        receiver
          .transactions()
          .slice(before)
          .filter((t) => t.transaction === 'GET /health/live'),
      ).toHaveLength(1);
    } finally {
      await app.stop();
    }
  });
});
