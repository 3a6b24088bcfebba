import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { findBinary } from './support/binaries';
import { startBuiltApp, type BuiltApp } from './support/built-app';
import { parseExposition } from './support/exposition';

const ROOT = join(__dirname, '..');
const MONITORING = join(ROOT, 'monitoring');
const RULE_FILES = [
  'terra_constellata_recording.yml',
  'terra_constellata_alerts.yml',
  'terra_constellata_slo.yml',
  'terra_constellata_self_monitoring.yml',
];
// The spec's three example queries, exactly as it writes them.
const SPEC = {
  requestRate: 'rate(terra_constellata_requests_total[5m])',
  errorRate: 'rate(terra_constellata_errors_total[5m]) / rate(terra_constellata_requests_total[5m])',
  p95: 'histogram_quantile(0.95, rate(terra_constellata_request_duration_seconds_bucket[5m]))',
};
const METRICS_TOKEN = 'stack-test-metrics-token-0123456789';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Expression {
  where: string;
  expr: string;
  /** The panel shows NaN (0 / 0, a quantile of no requests) as "no traffic". */
  mapsNaN?: boolean;
}

/** Every PromQL expression of the dashboards (Prometheus targets, variables substituted) and of the rules. */
function allExpressions(): { dashboards: Expression[]; recordings: Expression[]; alerts: Expression[] } {
  const dashboards: Expression[] = [];
  for (const name of ['terra-constellata-overview.json', 'terra-constellata-slo.json']) {
    const dashboard = JSON.parse(readFileSync(join(MONITORING, 'grafana', 'dashboards', name), 'utf8')) as {
      panels: Array<{
        title: string;
        datasource?: { type: string };
        targets?: Array<{ expr: string }>;
        fieldConfig?: { defaults?: { mappings?: Array<{ type: string; options: { match?: string } }> } };
      }>;
    };
    for (const panel of dashboard.panels) {
      if (panel.datasource?.type !== 'prometheus') continue;
      const mapsNaN = (panel.fieldConfig?.defaults?.mappings ?? []).some(
        (m) => m.type === 'special' && m.options.match === 'nan',
      );
      for (const target of panel.targets ?? [])
        dashboards.push({
          where: `${name}: ${panel.title}`,
          expr: target.expr.replaceAll('$job', 'terra_constellata').replaceAll('$instance', '.*'),
          mapsNaN,
        });
    }
  }
  const recordings: Expression[] = [];
  const alerts: Expression[] = [];
  for (const file of RULE_FILES) {
    const groups = (
      parseYaml(readFileSync(join(MONITORING, 'rules', file), 'utf8')) as {
        groups: Array<{ rules: Array<{ expr: string; alert?: string; record?: string }> }>;
      }
    ).groups;
    for (const rule of groups.flatMap((g) => g.rules)) {
      if (rule.alert) alerts.push({ where: `${file}: ${rule.alert}`, expr: rule.expr });
      else recordings.push({ where: `${file}: ${rule.record}`, expr: rule.record! });
    }
  }
  return { dashboards, recordings, alerts };
}

type Sample = { metric: Record<string, string>; value: [number, string] };

/**
 * A real Prometheus on the repository's own prometheus.yml and rules, copied with only what a test must change:
 * 1 s intervals, the backend's and its own address as targets, no Alertmanager or host exporters to reach. The
 * backend's bearer token comes from secrets/metrics_token and Prometheus asks for basic auth (secrets/web.yml),
 * both as in production.
 */
async function startPrometheus(binary: string, appUrl: string, nodeExporter?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tc-stack-'));
  cpSync(MONITORING, dir, { recursive: true });
  execNode(join(ROOT, 'scripts', 'monitoring-secrets.mjs'), ['--dir', join(dir, 'secrets')]);
  writeFileSync(join(dir, 'secrets', 'metrics_token'), METRICS_TOKEN);
  const password = readFileSync(join(dir, 'secrets', 'monitoring_password'), 'utf8').trim();
  const port = await freePort();
  const config = parseYaml(readFileSync(join(dir, 'prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    alerting?: unknown;
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
  };
  config.global.scrape_interval = '1s';
  config.global.evaluation_interval = '1s';
  delete config.alerting;
  config.scrape_configs = config.scrape_configs.filter((job) =>
    ['terra_constellata', 'prometheus', ...(nodeExporter ? ['node-exporter'] : [])].includes(job.job_name),
  );
  const targets: Record<string, string> = {
    terra_constellata: new URL(appUrl).host,
    prometheus: `127.0.0.1:${port}`,
    'node-exporter': nodeExporter ?? '',
  };
  for (const job of config.scrape_configs) job.static_configs[0].targets = [targets[job.job_name]];
  writeFileSync(join(dir, 'prometheus.yml'), stringifyYaml(config));
  let log = '';
  const child: ChildProcess = spawn(binary, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--web.config.file=${join(dir, 'secrets', 'web.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  child.stderr!.on('data', (chunk) => (log += chunk));
  const url = `http://127.0.0.1:${port}`;
  const auth = { authorization: `Basic ${Buffer.from(`terra:${password}`).toString('base64')}` };
  const api = async (path: string) => {
    const res = await fetch(`${url}${path}`, { headers: auth });
    return (await res.json()) as {
      status: string;
      error?: string;
      data: { result: Sample[] } & Record<string, unknown>;
    };
  };
  const query = (expr: string) => api(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  // Wait until the backend has been scraped (with its token) at least twice.
  for (let i = 0; i < 300; i++) {
    const up = await query('count_over_time(up{job="terra_constellata"}[1m]) >= 2').catch(() => undefined);
    if (up?.data?.result?.length) break;
    await sleep(100);
  }
  /**
   * Resolves once Prometheus holds everything sent before `since` (epoch seconds): a scrape of the backend that
   * started after it, then three evaluations of every rule group after that scrape, which covers the deepest
   * chain of recordings reading recordings. Bounded: a stack that never settles fails here, not on a value.
   */
  const settled = async (since: number) => {
    let scrape = 0;
    for (let i = 0; i < 300; i++) {
      const targets = (await api('/api/v1/targets')).data as unknown as {
        activeTargets: Array<{ labels: { job: string }; lastScrape: string }>;
      };
      const backend = targets.activeTargets.find((t) => t.labels.job === 'terra_constellata');
      scrape = backend ? Date.parse(backend.lastScrape) / 1000 : 0;
      if (scrape > since + 0.1) break;
      await sleep(100);
    }
    expect({ scrapedAfterTraffic: scrape > since + 0.1 }).toEqual({ scrapedAfterTraffic: true });
    let evaluated: number[] = [];
    for (let i = 0; i < 300; i++) {
      const rules = (await api('/api/v1/rules')).data as unknown as {
        groups: Array<{ lastEvaluation: string }>;
      };
      evaluated = rules.groups.map((g) => Date.parse(g.lastEvaluation) / 1000);
      if (evaluated.length && evaluated.every((t) => t > scrape + 3)) return;
      await sleep(100);
    }
    expect({ rulesEvaluatedAfterScrape: evaluated }).toEqual({ rulesEvaluatedAfterScrape: 'three times' });
  };
  return {
    url,
    query,
    api,
    settled,
    log: () => log,
    stop: () => child.kill('SIGKILL'),
  };
}

function execNode(script: string, args: string[]) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('node:child_process').execFileSync(process.execPath, [script, ...args], { stdio: 'ignore' });
}

const post = (base: string, path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** A POST whose body arrives `delayMs` after its headers (or never, when null); resolves with the status. */
function slowPost(base: string, path: string, body: unknown, delayMs: number | null): Promise<number> {
  const { hostname, port } = new URL(base);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let response = '';
    socket.on('data', (chunk) => {
      response += chunk;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(response);
      if (status) {
        socket.destroy();
        resolve(Number(status[1]));
      }
    });
    socket.on('error', reject);
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n`,
    );
    if (delayMs !== null) setTimeout(() => socket.write(payload), delayMs);
  });
}

const value = (samples: Sample[]) => Number(samples[0]?.value[1]);

describe('the monitoring stack against the running service (real Prometheus, the repository prometheus.yml)', () => {
  const prometheusBinary = findBinary('prometheus', 'apt-get install -y prometheus');

  describe('run 1: healthy traffic only', () => {
    let app: BuiltApp;
    let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
    const statuses: number[] = [];

    beforeAll(async () => {
      if (!prometheusBinary) return;
      // Insights (and the rating gauges) every second, so the feedback panels have data within the run.
      app = await startBuiltApp({
        METRICS_TOKEN,
        HEALTH_CACHE_MS: '0',
        FEEDBACK_INSIGHTS_INTERVAL_MS: '1000',
      });
      prometheus = await startPrometheus(prometheusBinary, app.url);
      // Six seconds of traffic a user would send, none of it failing.
      for (let round = 0; round < 12; round++) {
        const workflow = (await (
          await post(app.url, '/api/workflows', { type: 'artwork_generation' })
        ).json()) as {
          id: string;
        };
        const results = await Promise.all([
          fetch(`${app.url}/`),
          post(app.url, '/api/feedback/submit', { rating: 4, category: 'usability' }),
          post(app.url, `/api/feedback/workflow/${workflow.id}`, { rating: 5 }),
          post(app.url, '/api/artworks', { workflow_id: workflow.id, style: 'watercolor' }),
          post(app.url, `/api/workflows/${workflow.id}/${round % 6 === 5 ? 'fail' : 'complete'}`, {
            error: 'gave up',
          }),
          fetch(`${app.url}/api/feedback/stats`),
        ]);
        statuses.push(...results.map((r) => r.status));
        // An artwork of a known style, rated: the rating-by-style panel.
        const artwork = (await (
          await post(app.url, '/api/artworks', { workflow_id: workflow.id, style: 'celestial' })
        ).json()) as {
          id: string;
        };
        statuses.push((await post(app.url, `/api/feedback/artwork/${artwork.id}`, { rating: 4 })).status);
        await sleep(400);
      }
      await prometheus.settled(Date.now() / 1000);
    }, 60_000);

    afterAll(async () => {
      prometheus?.stop();
      await app?.stop();
    });

    it('asks for basic auth, and scrapes the backend with the token from secrets/metrics_token', async () => {
      if (!prometheusBinary) return;
      expect((await fetch(`${prometheus.url}/api/v1/query?query=up`)).status).toBe(401);
      const up = await prometheus.query('up');
      expect(up.data.result.map((s) => [s.metric.job, s.value[1]]).sort()).toEqual([
        ['prometheus', '1'],
        ['terra_constellata', '1'],
      ]);
      // The traffic was healthy: no 4xx, no 5xx.
      expect(statuses.filter((s) => s >= 400)).toEqual([]);
    });

    it('gives a value for every dashboard and recording-rule expression: 0 errors, 100 % available, never "No data"', async () => {
      if (!prometheusBinary) return;
      const { dashboards, recordings } = allExpressions();
      expect(dashboards.length + recordings.length).toBeGreaterThan(70);
      const empty: string[] = [];
      for (const { where, expr } of [...dashboards, ...recordings]) {
        if (/\bALERTS\b/.test(expr)) continue;
        const result = await prometheus.query(expr);
        expect({ where, status: result.status, error: result.error }).toEqual({
          where,
          status: 'success',
          error: undefined,
        });
        if (result.data.result.length === 0) empty.push(`${where}: ${expr}`);
      }
      expect(empty).toEqual([]);
      for (const ratio of [
        'terra_constellata:http_5xx_ratio:rate5m',
        ...['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'].map(
          (w) => `terra_constellata:slo_availability:error_ratio_rate${w}`,
        ),
      ])
        expect({ ratio, value: value((await prometheus.query(ratio)).data.result) }).toEqual({
          ratio,
          value: 0,
        });
      expect(
        value(
          (await prometheus.query('1 - terra_constellata:slo_availability:error_ratio_rate30d')).data.result,
        ),
      ).toBe(1);
      // The spec's error query: each route's error ratio, 0 on a healthy service, and as many series as routes.
      const errors = await prometheus.query(SPEC.errorRate);
      const routes = await prometheus.query(SPEC.requestRate);
      expect(errors.data.result.length).toBe(routes.data.result.length);
      expect(errors.data.result.every((s) => s.value[1] === '0')).toBe(true);
    });

    it('evaluates every rule without an error, and the alerts stay quiet', async () => {
      if (!prometheusBinary) return;
      const rules = (await prometheus.api('/api/v1/rules')) as unknown as {
        data: {
          groups: Array<{
            rules: Array<{ name: string; health: string; state?: string; lastError?: string }>;
          }>;
        };
      };
      const all = rules.data.groups.flatMap((g) => g.rules);
      expect(all.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
      expect(all.length).toBe(allExpressions().recordings.length + allExpressions().alerts.length);
      // LowUserFeedback waits 10 minutes; nothing else has a reason to be pending, and the Watchdog always fires.
      expect(all.filter((r) => r.state && r.state !== 'inactive').map((r) => r.name)).toEqual(['Watchdog']);
      expect(all.find((r) => r.name === 'Watchdog')?.state).toBe('firing');
    });

    it('uses in dashboards and rules only metrics the service exports', async () => {
      if (!prometheusBinary) return;
      const scraped = await fetch(`${app.url}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      const text = await scraped.text();
      // Declared families count even without samples yet (errors_by_type_total before the first error).
      const exported = new Set([
        ...parseExposition(text).map((s) => s.name.replace(/_(bucket|sum|count)$/, '')),
        ...[...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]),
      ]);
      const { dashboards, recordings, alerts } = allExpressions();
      const rulesText = RULE_FILES.flatMap((f) =>
        (
          parseYaml(readFileSync(join(MONITORING, 'rules', f), 'utf8')) as {
            groups: Array<{ rules: Array<{ expr: string }> }>;
          }
        ).groups.flatMap((g) => g.rules.map((r) => r.expr)),
      );
      const used = new Set(
        [
          ...dashboards.map((e) => e.expr),
          ...rulesText,
          ...recordings.map((e) => e.expr),
          ...alerts.map((e) => e.expr),
        ].flatMap((expr) => expr.match(/\bterra_constellata_[a-z0-9_]+/g) ?? []),
      );
      expect(used.size).toBeGreaterThan(15);
      expect(
        [...used].map((n) => n.replace(/_(bucket|sum|count)$/, '')).filter((n) => !exported.has(n)),
      ).toEqual([]);
      expect(prometheus.log()).not.toMatch(/level=error/);
    });
  });

  describe('run 2: an injected error ratio and a slow route', () => {
    let app: BuiltApp;
    let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
    const ROUNDS = 10;
    // One round, sent at once: 4 GET / (200), 3 fast submissions (201), 1 invalid submission (400), 1 submission
    // whose body comes after 1.1 s (201, slow), 1 whose body never comes (503 at the 1.5 s request deadline).
    const round = async (base: string) =>
      Promise.all([
        ...Array.from({ length: 4 }, () => fetch(`${base}/`).then((r) => r.status)),
        ...Array.from({ length: 3 }, () =>
          post(base, '/api/feedback/submit', { rating: 4 }).then((r) => r.status),
        ),
        post(base, '/api/feedback/submit', { rating: 9 }).then((r) => r.status),
        slowPost(base, '/api/feedback/submit', { rating: 3 }, 1100),
        slowPost(base, '/api/feedback/submit', { rating: 3 }, null),
      ]);
    const EXPECTED = [200, 200, 200, 200, 201, 201, 201, 400, 201, 503];
    const sent: number[][] = [];

    beforeAll(async () => {
      if (!prometheusBinary) return;
      app = await startBuiltApp({ METRICS_TOKEN, REQUEST_DEADLINE_MS: '1500' });
      // One round before Prometheus starts, so every series exists at its first scrape: rate() then counts the
      // rounds after it exactly, with the same extrapolation for every series.
      sent.push(await round(app.url));
      prometheus = await startPrometheus(prometheusBinary, app.url);
      for (let i = 0; i < ROUNDS; i++) sent.push(await round(app.url));
      await prometheus.settled(Date.now() / 1000);
    }, 60_000);

    afterAll(async () => {
      prometheus?.stop();
      await app?.stop();
    });

    it('answered each round as designed', () => {
      if (!prometheusBinary) return;
      for (const statuses of sent) expect(statuses).toEqual(EXPECTED);
    });

    it("returns the injected error ratio per route from the spec's error query, pasted as written", async () => {
      if (!prometheusBinary) return;
      const byRoute = Object.fromEntries(
        (await prometheus.query(SPEC.errorRate)).data.result.map((s) => [
          `${s.metric.method} ${s.metric.route}`,
          Number(s.value[1]),
        ]),
      );
      // The submission route: 1 invalid (400) and 1 timed out (503) of 6 per round.
      expect(byRoute['POST /api/feedback/submit']).toBeCloseTo(2 / 6, 2);
      expect(byRoute['GET /']).toBe(0);
      for (const ratio of Object.values(byRoute)) {
        expect(ratio).toBeGreaterThanOrEqual(0);
        expect(ratio).toBeLessThanOrEqual(1);
      }
      // The spec's request rate: one series per method and route; the submissions at 6 per round.
      const rates = (await prometheus.query(SPEC.requestRate)).data.result;
      const submit = rates.find((s) => s.metric.route === '/api/feedback/submit')!;
      const root = rates.find((s) => s.metric.route === '/' && s.metric.method === 'GET')!;
      expect(Number(submit.value[1]) / Number(root.value[1])).toBeCloseTo(6 / 4, 2);
      // The spec's p95, per series: the 503s wait for the 1.5 s deadline; a quarter of the 201s take 1.1 s.
      const p95 = Object.fromEntries(
        (await prometheus.query(SPEC.p95)).data.result
          .filter((s) => s.metric.route === '/api/feedback/submit')
          .map((s) => [s.metric.status_code, Number(s.value[1])]),
      );
      expect(p95['503']).toBeGreaterThan(1);
      expect(p95['503']).toBeLessThanOrEqual(2.5);
      expect(p95['201']).toBeGreaterThan(1);
      expect(p95['400']).toBeLessThan(0.25);
    });

    it('returns the injected 5xx and slow ratios from the availability and latency recordings and burn rates', async () => {
      if (!prometheusBinary) return;
      // Per round: 1 of 10 answered 5xx; 2 of 10 slower than 1 s (the slow body and the deadline).
      const near = async (expr: string, expected: number, tolerance: number) => {
        const got = value((await prometheus.query(expr)).data.result);
        expect({ expr, got, near: Math.abs(got - expected) <= tolerance }).toEqual({ expr, got, near: true });
      };
      await near('terra_constellata:http_5xx_ratio:rate5m', 0.1, 0.005);
      await near('terra_constellata:slo_availability:error_ratio_rate5m', 0.1, 0.005);
      await near('terra_constellata:slo_latency:error_ratio_rate5m', 0.2, 0.01);
      await near(
        'terra_constellata:slo_availability:error_ratio_rate5m / (1 - scalar(terra_constellata:slo_availability:target))',
        100,
        5,
      );
      // Long windows integrate the recorded 5-minute rates since Prometheus started; a round's requests finish
      // at different moments, so they hold the ratio within a few percent, not exactly.
      for (const window of ['30m', '1h', '2h', '6h', '1d', '3d', '30d']) {
        await near(`terra_constellata:slo_availability:error_ratio_rate${window}`, 0.1, 0.03);
        await near(`terra_constellata:slo_latency:error_ratio_rate${window}`, 0.2, 0.05);
      }
      await near('1 - terra_constellata:slo_availability:error_ratio_rate30d', 0.9, 0.03);
      // The overview's 5xx ratio, with its job and instance selectors.
      await near(
        '(sum(rate(terra_constellata_server_errors_total{job="terra_constellata",instance=~".*",route!~"/health.*|/metrics"}[5m])) or vector(0)) / (sum(rate(terra_constellata_requests_total{job="terra_constellata",instance=~".*",route!~"/health.*|/metrics"}[5m])) > 0) or vector(0)',
        0.1,
        0.005,
      );
      const types = (
        await prometheus.query('sum by (error_type, status_code) (terra_constellata_errors_by_type_total)')
      ).data.result;
      expect(types.map((s) => `${s.metric.status_code} ${s.metric.error_type}`).sort()).toEqual([
        '400 BadRequestException',
        '503 RequestDeadlineExceededError',
      ]);
      expect(prometheus.log()).not.toMatch(/level=error/);
    });
  });

  // Visible skip, unlike the older runs above.
  const nodeExporterBinary = findBinary(
    'prometheus-node-exporter',
    'apt-get install -y prometheus-node-exporter',
  );
  (prometheusBinary ? describe : describe.skip)(
    'run 3: idle, nothing but scrapes; a real node-exporter',
    () => {
      let app: BuiltApp;
      let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
      let nodeExporter: ChildProcess | undefined;

      beforeAll(async () => {
        // Insights every second: the rating gauges exist before Prometheus starts.
        app = await startBuiltApp({
          METRICS_TOKEN,
          HEALTH_CACHE_MS: '0',
          FEEDBACK_INSIGHTS_INTERVAL_MS: '1000',
        });
        // Every kind of request once, before Prometheus starts: the series exist at their first scrape and never
        // move after it, so every window Prometheus holds has zero requests (0 / 0), and no waiting is needed.
        const workflow = (await (
          await post(app.url, '/api/workflows', { type: 'artwork_generation' })
        ).json()) as {
          id: string;
        };
        const failed = (await (
          await post(app.url, '/api/workflows', { type: 'artwork_generation' })
        ).json()) as {
          id: string;
        };
        await Promise.all([
          fetch(`${app.url}/`),
          fetch(`${app.url}/no-such-route`),
          post(app.url, '/api/feedback/submit', { rating: 4 }),
          post(app.url, '/api/feedback/submit', { rating: 9 }),
          post(app.url, `/api/workflows/${workflow.id}/complete`, {}),
          post(app.url, `/api/workflows/${failed.id}/fail`, { error: 'gave up' }),
          post(app.url, '/api/artworks', { workflow_id: workflow.id, style: 'watercolor' }),
        ]);
        const artwork = (await (
          await post(app.url, '/api/artworks', { workflow_id: workflow.id, style: 'celestial' })
        ).json()) as { id: string };
        await post(app.url, `/api/feedback/artwork/${artwork.id}`, { rating: 4 });
        await post(app.url, `/api/feedback/workflow/${workflow.id}`, { rating: 5 });
        let nodeExporterAddress: string | undefined;
        if (nodeExporterBinary) {
          nodeExporterAddress = `127.0.0.1:${await freePort()}`;
          // The collectors the Hosts and containers dashboard reads; no root needed.
          nodeExporter = spawn(
            nodeExporterBinary,
            [
              `--web.listen-address=${nodeExporterAddress}`,
              '--collector.disable-defaults',
              ...['cpu', 'loadavg', 'meminfo', 'filesystem', 'diskstats', 'netdev', 'stat', 'uname'].map(
                (c) => `--collector.${c}`,
              ),
            ],
            { stdio: 'ignore' },
          );
        }
        prometheus = await startPrometheus(prometheusBinary!, app.url, nodeExporterAddress);
        await prometheus.settled(Date.now() / 1000);
      }, 40_000);

      afterAll(async () => {
        prometheus?.stop();
        nodeExporter?.kill('SIGKILL');
        await app?.stop();
      });

      (nodeExporterBinary ? it : it.skip)(
        'answers every node-exporter expression of the Hosts and containers dashboard with a value',
        async () => {
          const hosts = JSON.parse(
            readFileSync(join(MONITORING, 'grafana', 'dashboards', 'terra-constellata-hosts.json'), 'utf8'),
          ) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
          const exprs = hosts.panels.flatMap((p) =>
            (p.targets ?? [])
              .filter((t) => /\bnode_/.test(t.expr))
              .map((t) => ({
                where: p.title,
                expr: t.expr.replaceAll('$node', '.*').replaceAll('$container', '.+'),
              })),
          );
          expect(exprs.length).toBeGreaterThanOrEqual(10);
          const problems: string[] = [];
          for (const { where, expr } of exprs) {
            const result = await prometheus.query(expr);
            expect({ where, status: result.status }).toEqual({ where, status: 'success' });
            if (result.data.result.length === 0) problems.push(`no data: ${where}: ${expr}`);
            for (const sample of result.data.result)
              if (!Number.isFinite(Number(sample.value[1])))
                problems.push(`${sample.value[1]}: ${where}: ${expr}`);
          }
          expect(problems).toEqual([]);
          // The exporters panel: node-exporter scraped (no cAdvisor here).
          expect(
            (await prometheus.query('up{job="node-exporter"}')).data.result.map((r) => r.value[1]),
          ).toEqual(['1']);
        },
      );

      it('answers every dashboard and recording-rule expression with a number, never NaN or "No data"', async () => {
        // The windows really were idle: requests existed before, none since Prometheus started.
        expect(
          value(
            (await prometheus.query('sum(terra_constellata_requests_total{route!~"/health.*|/metrics"})'))
              .data.result,
          ),
        ).toBeGreaterThanOrEqual(7);
        expect(value((await prometheus.query('terra_constellata:requests:rate5m')).data.result)).toBe(0);
        const { dashboards, recordings } = allExpressions();
        const problems: string[] = [];
        let checked = 0;
        for (const { where, expr, mapsNaN } of [...dashboards, ...recordings]) {
          if (/\bALERTS\b/.test(expr)) continue;
          const result = await prometheus.query(expr);
          expect({ where, status: result.status }).toEqual({ where, status: 'success' });
          checked++;
          if (result.data.result.length === 0) problems.push(`no data: ${where}: ${expr}`);
          for (const sample of result.data.result)
            if (Number.isNaN(Number(sample.value[1])) && !mapsNaN) problems.push(`NaN: ${where}: ${expr}`);
        }
        expect(checked).toBeGreaterThan(70);
        expect(problems).toEqual([]);
        // Every ratio and burn rate reads exactly 0.
        for (const ratio of [
          'terra_constellata:http_5xx_ratio:rate5m',
          'terra_constellata:workflow_failure_ratio:rate5m',
          'terra_constellata:request_duration_seconds:p95_5m',
          ...['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'].flatMap((w) => [
            `terra_constellata:slo_availability:error_ratio_rate${w}`,
            `terra_constellata:slo_latency:error_ratio_rate${w}`,
          ]),
        ])
          expect({ ratio, value: value((await prometheus.query(ratio)).data.result) }).toEqual({
            ratio,
            value: 0,
          });
        // On an idle service the Watchdog fires, and LowUserFeedback (no feedback in the window) waits out its for.
        const rules = (await prometheus.api('/api/v1/rules')) as unknown as {
          data: { groups: Array<{ rules: Array<{ name: string; state?: string }> }> };
        };
        expect(
          rules.data.groups
            .flatMap((g) => g.rules)
            .filter((r) => r.state && r.state !== 'inactive')
            .map((r) => `${r.name} ${r.state}`)
            .sort(),
        ).toEqual(['LowUserFeedback pending', 'Watchdog firing']);
      });
    },
  );
});
