import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { describeIfBinary, findBinary } from './support/binaries';
import { startBuiltApp, type BuiltApp } from './support/built-app';
import { createTestDatabase, describePostgres, type TestDatabase } from './support/postgres';
import { startPrometheus, type TestPrometheus } from './support/prometheus';
import { SentryReceiver } from './support/sentry-receiver';

const prometheusBinary = findBinary('prometheus', 'apt-get install -y prometheus');
const ROUTE = '/api/workflows/:id';

/** The lines of the built app's log file that belong to one request, once its request line is written. */
async function requestLines(app: BuiltApp, requestId: string): Promise<Array<Record<string, unknown>>> {
  const file = join(app.cwd, 'logs', 'terra_constellata.log');
  for (let i = 0; i < 100; i++) {
    const lines = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((line) => line.request_id === requestId)
      : [];
    if (lines.some((line) => line.msg === 'API Request')) return lines;
    await sleep(50);
  }
  throw new Error(`no request line for ${requestId} in ${file} within 5 s`);
}

// The service, a real Prometheus 2.42 scraping it in OpenMetrics every second with exemplar storage on, a
// loopback Sentry ingest and PostgreSQL: one failing request, followed through every signal it leaves.
describePostgres('one request across logs, metrics and Sentry', () => {
  describeIfBinary(prometheusBinary)('(real Prometheus with exemplar storage)', () => {
    let receiver: SentryReceiver;
    let db: TestDatabase;
    let app: BuiltApp;
    let prometheus: TestPrometheus;
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentSpanId = '00f067aa0ba902b7';
    let started: number;
    let failed: Response;

    beforeAll(async () => {
      receiver = await SentryReceiver.start();
      db = await createTestDatabase();
      app = await startBuiltApp({
        DATABASE_URL: db.url,
        SENTRY_DSN: receiver.dsn,
        ENVIRONMENT: 'production',
      });
      started = Date.now() / 1000;
      prometheus = await startPrometheus(prometheusBinary!, new URL(app.url).host);
      // The route answers before it ever fails: its series exist, server_errors_total at 0.
      const created = await fetch(`${app.url}/api/workflows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'artwork_generation' }),
      });
      const { id } = (await created.json()) as { id: string };
      for (let i = 0; i < 3; i++) expect((await fetch(`${app.url}/api/workflows/${id}`)).status).toBe(200);
      await prometheus.scrapedAfter(Date.now() / 1000);
      // A table renamed under the running service (a manual correction gone wrong): its next read is a 500.
      const client = new Client({ connectionString: db.url });
      await client.connect();
      await client.query('ALTER TABLE workflows RENAME TO workflows_moved');
      await client.end();
      failed = await fetch(`${app.url}/api/workflows/${id}`, {
        headers: { traceparent: `00-${traceId}-${parentSpanId}-01`, tracestate: 'vendor=opaque' },
      });
      await prometheus.scrapedAfter(Date.now() / 1000);
    }, 60_000);

    afterAll(async () => {
      prometheus?.stop();
      await app?.stop();
      await receiver?.stop();
      await db?.drop();
    });

    it("answers the failure with the caller's trace in traceresponse", () => {
      expect(failed.status).toBe(500);
      expect(failed.headers.get('traceresponse')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    });

    it("shows the route's first 5xx as an increase, where a series born at 1 shows none", async () => {
      // Two scrapes since the failure, so the series born with it has two samples to compare.
      await prometheus.scrapedAfter(Date.now() / 1000);
      await prometheus.scrapedAfter(Date.now() / 1000);
      const [serverErrors] = await prometheus.query(
        `increase(terra_constellata_server_errors_total{route="${ROUTE}",method="GET"}[1m])`,
      );
      expect(Number(serverErrors?.value[1])).toBeGreaterThan(0.9);
      // The histogram's status series appears with the failure, at 1: Prometheus 2 sees no increase in it.
      const [bornAtOne] = await prometheus.query(
        `increase(terra_constellata_request_duration_seconds_count{route="${ROUTE}",status_code="500"}[1m])`,
      );
      expect(Number(bornAtOne?.value[1])).toBe(0);
    });

    it('stores exemplars with the trace id on the error counter and the duration bucket', async () => {
      for (const series of [
        `terra_constellata_server_errors_total{route="${ROUTE}"}`,
        `terra_constellata_errors_total{route="${ROUTE}"}`,
        `terra_constellata_request_duration_seconds_bucket{route="${ROUTE}",status_code="500"}`,
      ]) {
        const found = await prometheus.exemplars(series, started);
        const traces = found.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id));
        expect({ series, traces }).toEqual({ series, traces: expect.arrayContaining([traceId]) as unknown });
      }
    });

    it('writes the trace id on every log line of the request, and the host', async () => {
      const requestId = failed.headers.get('x-request-id')!;
      const lines = await requestLines(app, requestId);
      // The exception's error line and the request line, at least.
      expect(lines.map((line) => line.level)).toEqual(expect.arrayContaining(['ERROR']));
      expect(lines.length).toBeGreaterThanOrEqual(2);
      const spanId = failed.headers.get('traceresponse')!.split('-')[2];
      for (const line of lines) {
        expect(line).toMatchObject({ trace_id: traceId, span_id: spanId });
        expect(typeof line.host).toBe('string');
      }
    });

    it("reports the failure to Sentry (errors-only mode) in the caller's trace", async () => {
      const requestId = failed.headers.get('x-request-id')!;
      const [event] = await receiver.waitFor(
        () => receiver.events().filter((e) => (e.tags as Record<string, string>)?.request_id === requestId),
        1,
      );
      expect((event.contexts as { trace: Record<string, string> }).trace).toMatchObject({
        trace_id: traceId,
        parent_span_id: parentSpanId,
        span_id: failed.headers.get('traceresponse')!.split('-')[2],
      });
    });
  });
});
