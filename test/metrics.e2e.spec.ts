import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { register as globalRegistry } from 'prom-client';
import request from 'supertest';
import { BusinessMetrics } from '@app/metrics';
import { createTestApp, type TestApp } from './support/app';
import { findBinary } from './support/binaries';
import { parseExposition, seriesOf, valueOf, valueOrZero, type Sample } from './support/exposition';
import { ProbeController } from './support/probe.controller';

const P = 'terra_constellata_';
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('GET /metrics and the HTTP metrics', () => {
  let t: TestApp;
  let server: Parameters<typeof request>[0];

  beforeAll(async () => {
    t = await createTestApp({ METRICS_TOKEN: 'scrape-secret' }, { controllers: [ProbeController] });
    server = t.app.getHttpServer();
  });

  afterAll(() => t.close());

  async function scrape(): Promise<Sample[]> {
    const res = await request(server)
      .get('/metrics')
      .set('authorization', 'Bearer scrape-secret')
      .expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(res.text);
  }

  // Runs the requests between two scrapes and returns a reader of counter deltas.
  async function deltas(act: () => Promise<unknown>) {
    const before = await scrape();
    await act();
    const after = await scrape();
    return (name: string, labels: Record<string, string>) =>
      valueOf(after, name, labels) - valueOrZero(before, name, labels);
  }

  const http = (method: string, route: string, status: number) => ({
    method,
    route,
    status_code: String(status),
  });

  it.each([
    [
      'a success',
      () => request(server).get('/e2e-probe/item/a1').expect(200),
      http('GET', '/e2e-probe/item/:id', 200),
      null,
    ],
    [
      'a created',
      () => request(server).post('/e2e-probe').send({ rating: 3 }).expect(201),
      http('POST', '/e2e-probe', 201),
      null,
    ],
    [
      'a guard rejection (401)',
      () => request(server).get('/metrics').expect(401),
      http('GET', '/metrics', 401),
      'UnauthorizedException',
    ],
    [
      'a pipe rejection (400)',
      () => request(server).post('/e2e-probe').send({ rating: 'x' }).expect(400),
      http('POST', '/e2e-probe', 400),
      'BadRequestException',
    ],
    [
      'the body limit (413)',
      () =>
        request(server)
          .post('/e2e-probe')
          .send({ rating: 1, name: 'x'.repeat(200_000) })
          .expect(413),
      http('POST', '/e2e-probe', 413),
      // Nest wraps Fastify's own errors (body limit, bad JSON, media type) in a plain HttpException.
      'HttpException',
    ],
    [
      'an unmatched route (404)',
      () => request(server).get('/wp-admin/setup.php').expect(404),
      http('GET', 'UNMATCHED', 404),
      'NotFoundException',
    ],
    [
      'a handler that throws (500)',
      () => request(server).get('/e2e-probe/boom').expect(500),
      http('GET', '/e2e-probe/boom', 500),
      'Error',
    ],
    [
      'an HttpException (418)',
      () => request(server).get('/e2e-probe/teapot').expect(418),
      http('GET', '/e2e-probe/teapot', 418),
      'HttpException',
    ],
    [
      'an error status without an exception (409)',
      () => request(server).get('/e2e-probe/plain-conflict').expect(409),
      http('GET', '/e2e-probe/plain-conflict', 409),
      'HttpError',
    ],
  ])(
    'counts %s exactly once, with the route template and final status',
    async (_name, act, labels, errorType) => {
      const delta = await deltas(act);
      const route = { method: labels.method, route: labels.route };
      // The scrape that took the "before" figures is itself a GET /metrics, counted once it has been answered.
      expect(delta(`${P}requests_total`, route)).toBe(labels.route === '/metrics' ? 2 : 1);
      expect(delta(`${P}errors_total`, route)).toBe(errorType ? 1 : 0);
      expect(delta(`${P}server_errors_total`, route)).toBe(Number(labels.status_code) >= 500 ? 1 : 0);
      expect(delta(`${P}request_duration_seconds_count`, labels)).toBe(1);
      expect(delta(`${P}request_duration_seconds_bucket`, { ...labels, le: '+Inf' })).toBe(1);
      if (errorType) {
        expect(delta(`${P}errors_by_type_total`, { ...labels, error_type: errorType })).toBe(1);
      }
    },
  );

  it('counts a burst of mixed requests one for one', async () => {
    const delta = await deltas(() =>
      Promise.all([
        ...Array.from({ length: 20 }, (_, i) => request(server).get(`/e2e-probe/item/${i}`)),
        ...Array.from({ length: 7 }, () => request(server).get('/e2e-probe/boom')),
        ...Array.from({ length: 5 }, (_, i) => request(server).delete(`/nothing/${i}`)),
      ]),
    );
    expect(delta(`${P}requests_total`, { method: 'GET', route: '/e2e-probe/item/:id' })).toBe(20);
    expect(delta(`${P}errors_total`, { method: 'GET', route: '/e2e-probe/item/:id' })).toBe(0);
    expect(delta(`${P}requests_total`, { method: 'GET', route: '/e2e-probe/boom' })).toBe(7);
    expect(delta(`${P}errors_total`, { method: 'GET', route: '/e2e-probe/boom' })).toBe(7);
    expect(
      delta(`${P}errors_by_type_total`, { ...http('GET', '/e2e-probe/boom', 500), error_type: 'Error' }),
    ).toBe(7);
    expect(delta(`${P}requests_total`, { method: 'DELETE', route: 'UNMATCHED' })).toBe(5);
    expect(
      delta(`${P}errors_by_type_total`, {
        ...http('DELETE', 'UNMATCHED', 404),
        error_type: 'NotFoundException',
      }),
    ).toBe(5);
  });

  describe('OpenMetrics', () => {
    // What Prometheus 2.42 sends.
    const PROMETHEUS_ACCEPT =
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    const get = (accept?: string) => {
      const req = request(server).get('/metrics').set('authorization', 'Bearer scrape-secret');
      return (accept ? req.set('accept', accept) : req).expect(200);
    };

    it("answers Prometheus's Accept in OpenMetrics 1.0, with the request's trace id as exemplar", async () => {
      const traceId = randomBytes(16).toString('hex');
      await request(server)
        .get('/e2e-probe/boom')
        .set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`)
        .expect(500);
      const res = await get(PROMETHEUS_ACCEPT);
      expect(res.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
      expect(res.headers.vary).toBe('accept');
      expect(res.text.endsWith('\n# EOF\n')).toBe(true);
      expect(res.text.match(/^# EOF$/gm)).toHaveLength(1);
      // Counter families are named without _total; their samples keep it, prom-client's as well as ours.
      expect(res.text).toContain(`\n# TYPE ${P}requests counter\n`);
      expect(res.text).toContain(`\n# TYPE ${P}recommendations counter\n`);
      expect(res.text).not.toMatch(/^# TYPE \S+_total counter$/m);
      expect(res.text).not.toContain('\n\n');
      const route = 'method="GET",route="/e2e-probe/boom"';
      const exemplar = ` # {trace_id="${traceId}"} `;
      for (const family of ['server_errors_total', 'errors_total'])
        expect(res.text).toMatch(
          new RegExp(`^${P}${family}\\{${route}\\} \\d+${escape(exemplar)}1 \\d+(\\.\\d+)?$`, 'm'),
        );
      expect(
        res.text
          .split('\n')
          .filter(
            (line) =>
              line.includes(`${P}request_duration_seconds_bucket{${route}`) && line.includes(exemplar),
          ),
      ).toHaveLength(1);
      expect(
        valueOf(parseExposition(res.text), `${P}server_errors_total`, {
          method: 'GET',
          route: '/e2e-probe/boom',
        }),
      ).toBeGreaterThan(0);
    });

    it('answers anything else in the text format 0.0.4, counters still named with _total', async () => {
      await get(PROMETHEUS_ACCEPT);
      for (const accept of [
        undefined,
        '*/*',
        'text/plain',
        'text/plain;q=1, application/openmetrics-text;q=0.5',
        'application/json',
      ]) {
        const res = await get(accept);
        expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
        expect(res.text).toContain(`\n# TYPE ${P}recommendations_total counter\n`);
        expect(res.text).not.toContain('trace_id');
        expect(res.text).not.toContain('# EOF');
      }
    });
  });

  it('has buckets around the 5 s alert threshold', async () => {
    const buckets = (await scrape())
      .filter((s) => s.name === `${P}request_duration_seconds_bucket`)
      .map((s) => s.labels.le);
    expect(buckets).toEqual(expect.arrayContaining(['4', '5', '6']));
  });

  it('requires the bearer token when METRICS_TOKEN is set', async () => {
    const missing = await request(server).get('/metrics').expect(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(missing.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    await request(server).get('/metrics').set('authorization', 'Bearer wrong').expect(401);
    await request(server).get('/metrics').set('authorization', 'scrape-secret').expect(401);
  });

  it('exports every metric of the catalogue with the prefix, and prom-client defaults prefixed too', async () => {
    const names = new Set((await scrape()).map((s) => s.name));
    for (const name of [
      'requests_total',
      'request_duration_seconds_bucket',
      'errors_total',
      'workflows_started_total',
      'workflows_completed_total',
      'workflows_failed_total',
      'artworks_generated_total',
      'feedback_received_total',
      'memory_usage_bytes',
      'cpu_usage_percent',
      'active_connections',
      'database_up',
      'build_info',
      'process_cpu_seconds_total',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(names).toContain(`${P}${name}`);
    }
    expect([...names].filter((n) => !n.startsWith(P))).toEqual([]);
  });

  it('computes the system gauges at scrape time', async () => {
    const samples = await scrape();
    expect(valueOf(samples, `${P}memory_usage_bytes`, { type: 'rss' })).toBeGreaterThan(10_000_000);
    expect(valueOf(samples, `${P}memory_usage_bytes`, { type: 'heap_used' })).toBeGreaterThan(1_000_000);
    // One series, labelled with where the figure comes from (cgroup v2 files, else the host's cores).
    const cpu = samples.filter((s) => s.name === `${P}cpu_usage_percent`);
    expect(cpu.map((s) => Object.keys(s.labels))).toEqual([['source']]);
    expect(['cgroup', 'host']).toContain(cpu[0].labels.source);
    expect(valueOf(samples, `${P}cpu_usage_percent`, cpu[0].labels)).toBeGreaterThanOrEqual(0);
    // supertest holds the scrape's own connection open while it is served.
    expect(valueOf(samples, `${P}active_connections`)).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(samples, `${P}build_info`, { version: t.config.releaseVersion, environment: 'test' }),
    ).toBe(1);
  });

  it('counts business events with closed label sets, unknown values as "other"', async () => {
    const business = t.app.get(BusinessMetrics);
    const before = await scrape();
    expect(valueOf(before, `${P}feedback_received_total`, { target_type: 'artwork', category: 'bug' })).toBe(
      0,
    );
    expect(valueOf(before, `${P}workflows_started_total`, { workflow_type: 'map_rendering' })).toBe(0);
    business.workflowStarted('map_rendering');
    business.workflowStarted('rm -rf /');
    business.workflowCompleted('map_rendering');
    business.workflowFailed('data_ingestion');
    business.artworkGenerated('celestial');
    business.artworkGenerated(undefined);
    business.feedbackReceived('artwork', 'bug');
    business.feedbackReceived('spaceship', 'bug');
    const after = await scrape();
    const d = (name: string, labels: Record<string, string>) =>
      valueOf(after, name, labels) - valueOrZero(before, name, labels);
    expect(d(`${P}workflows_started_total`, { workflow_type: 'map_rendering' })).toBe(1);
    expect(d(`${P}workflows_started_total`, { workflow_type: 'other' })).toBe(1);
    expect(d(`${P}workflows_completed_total`, { workflow_type: 'map_rendering' })).toBe(1);
    expect(d(`${P}workflows_failed_total`, { workflow_type: 'data_ingestion' })).toBe(1);
    expect(d(`${P}artworks_generated_total`, { style: 'celestial' })).toBe(1);
    expect(d(`${P}artworks_generated_total`, { style: 'other' })).toBe(1);
    expect(d(`${P}feedback_received_total`, { target_type: 'artwork', category: 'bug' })).toBe(1);
    expect(d(`${P}feedback_received_total`, { target_type: 'other', category: 'bug' })).toBe(1);
    expect(after.some((s) => Object.values(s.labels).includes('rm -rf /'))).toBe(false);
  });

  it('keeps the number of series bounded under 10,000 requests to random paths and ids', async () => {
    const fastify = t.app.getHttpAdapter().getInstance();
    const before = seriesOf(await scrape(), P);
    const methods = ['GET', 'POST', 'DELETE', 'PUT'] as const;
    for (let i = 0; i < 10_000; i++) {
      const id = randomBytes(6).toString('hex');
      const url = i % 2 ? `/e2e-probe/item/${id}` : `/${id}/${randomBytes(3).toString('hex')}?q=${id}`;
      await fastify.inject({ method: methods[i % methods.length], url });
    }
    const after = seriesOf(await scrape(), P);
    const added = [...after].filter((s) => !before.has(s));
    // At most: GET/PUT/DELETE/POST on UNMATCHED (404, with its error series) and GET on the item route (200),
    // plus the method-not-matched variants of the item route, also UNMATCHED.
    expect(added.length).toBeLessThanOrEqual(13);
    expect(added.join('\n')).not.toMatch(/[0-9a-f]{12}/);
  });

  it('passes promtool check metrics, apart from the findings listed in the README', async () => {
    const promtool = findBinary('promtool', 'apt-get install -y prometheus');
    if (!promtool) return;
    const res = await request(server)
      .get('/metrics')
      .set('authorization', 'Bearer scrape-secret')
      .expect(200);
    const file = join(mkdtempSync(join(tmpdir(), 'tc-promtool-')), 'metrics.txt');
    writeFileSync(file, res.text);
    let output = '';
    try {
      output = execFileSync('sh', ['-c', `"${promtool}" check metrics < "${file}" 2>&1`], {
        encoding: 'utf8',
      });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? '');
    }
    const findings = output
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    // Listed in docs/metrics.md: names prom-client's default metrics fix, which this project cannot rename.
    const accepted = [
      /^terra_constellata_nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/,
      /^terra_constellata_nodejs_heap_size_total_bytes non-counter metrics should not have "_total" suffix$/,
      /^terra_constellata_nodejs_heap_space_size_total_bytes non-counter metrics should not have "_total" suffix$/,
    ];
    expect(findings.filter((line) => !accepted.some((re) => re.test(line)))).toEqual([]);
  });
});

describe('MetricsModule hygiene', () => {
  it('runs two apps in one process without "already registered", and leaves the global registry empty', async () => {
    const a = await createTestApp();
    const b = await createTestApp();
    try {
      await request(a.app.getHttpServer()).get('/').expect(200);
      const textA = (await request(a.app.getHttpServer()).get('/metrics').expect(200)).text;
      const textB = (await request(b.app.getHttpServer()).get('/metrics').expect(200)).text;
      const rootA = valueOf(parseExposition(textA), `${P}requests_total`, {
        method: 'GET',
        route: '/',
      });
      // B's registry is its own: A's request is not in it, not even as a series.
      const rootB = valueOrZero(parseExposition(textB), `${P}requests_total`, {
        method: 'GET',
        route: '/',
      });
      expect([rootA, rootB]).toEqual([1, 0]);
      expect(textB).not.toContain(`${P}requests_total{method="GET",route="/"}`);
      expect(globalRegistry.getMetricsAsArray()).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
