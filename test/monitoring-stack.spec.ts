import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { findBinary } from './support/binaries';
import { startBuiltApp, type BuiltApp } from './support/built-app';
import { parseExposition } from './support/exposition';
import { describePostgres, type TestDatabase } from './support/postgres';
import { databaseBehindProxy, type TcpProxy } from './support/tcp-proxy';

const ROOT = join(__dirname, '..');
const RULES = [
  'terra_constellata_recording.yml',
  'terra_constellata_alerts.yml',
  'terra_constellata_slo.yml',
].map((f) => join(ROOT, 'monitoring', 'rules', f));
const SPEC_QUERIES = [
  'rate(terra_constellata_requests_total[5m])',
  'rate(terra_constellata_errors_total[5m]) / rate(terra_constellata_requests_total[5m])',
  'histogram_quantile(0.95, rate(terra_constellata_request_duration_seconds_bucket[5m]))',
];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Every PromQL expression of the dashboards (Prometheus panels only) and of the rule files. */
function allExpressions(): Array<{ where: string; expr: string }> {
  const found: Array<{ where: string; expr: string }> = [];
  for (const name of ['terra-constellata-overview.json', 'terra-constellata-slo.json']) {
    const dashboard = JSON.parse(
      readFileSync(join(ROOT, 'monitoring', 'grafana', 'dashboards', name), 'utf8'),
    );
    for (const panel of dashboard.panels as Array<{
      title: string;
      datasource?: { type: string };
      targets?: Array<{ expr: string }>;
    }>) {
      if (panel.datasource?.type !== 'prometheus') continue;
      for (const target of panel.targets ?? [])
        found.push({ where: `${name}: ${panel.title}`, expr: target.expr });
    }
  }
  for (const file of RULES) {
    const groups = (
      parseYaml(readFileSync(file, 'utf8')) as {
        groups: Array<{ rules: Array<{ expr: string; alert?: string; record?: string }> }>;
      }
    ).groups;
    for (const rule of groups.flatMap((g) => g.rules))
      found.push({ where: `${file}: ${rule.alert ?? rule.record}`, expr: rule.expr });
  }
  return found;
}

describePostgres('the monitoring stack against the running service (real Prometheus)', () => {
  const prometheusBinary = findBinary('prometheus', 'apt-get install -y prometheus');
  let db: TestDatabase;
  let proxy: TcpProxy;
  let url: string;
  let app: BuiltApp;
  let prometheus: ChildProcess | undefined;
  let promUrl = '';
  let promLog = '';

  async function query(
    expr: string,
  ): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  }

  beforeAll(async () => {
    if (!prometheusBinary) return;
    ({ db, proxy, url } = await databaseBehindProxy());
    app = await startBuiltApp({
      DATABASE_URL: url,
      HEALTH_CACHE_MS: '0',
      HEALTH_TIMEOUT_MS: '500',
    });

    const dir = mkdtempSync(join(tmpdir(), 'tc-prometheus-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: RULES,
      scrape_configs: [
        {
          job_name: 'terra_constellata',
          metrics_path: '/metrics',
          static_configs: [{ targets: [new URL(app.url).host] }],
        },
      ],
    };
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config));
    prometheus = spawn(prometheusBinary, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    prometheus.stderr!.on('data', (chunk) => (promLog += chunk));
    // Prometheus applies discovered targets about 5 s after start; wait for the first scrape.
    for (let i = 0; i < 200; i++) {
      const scraped = await fetch(`${promUrl}/api/v1/query?query=up`).then(
        async (r) => r.ok && ((await r.json()) as { data: { result: unknown[] } }).data.result.length > 0,
        () => false,
      );
      if (scraped) break;
      await sleep(100);
    }

    // Traffic: successes, 404s, feedback, workflows, and 503s while the database is cut.
    const post = (path: string, body: unknown) =>
      fetch(`${app.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    for (let i = 0; i < 20; i++) await fetch(`${app.url}/`);
    for (let i = 0; i < 5; i++) await fetch(`${app.url}/no/such/page/${i}`);
    for (let i = 0; i < 5; i++) expect((await post('/api/feedback/submit', { rating: 4 })).status).toBe(201);
    const workflow = (await (await post('/api/workflows', { type: 'map_rendering' })).json()) as {
      id: string;
    };
    await post(`/api/workflows/${workflow.id}/complete`, {});
    const failing = (await (await post('/api/workflows', { type: 'map_rendering' })).json()) as {
      id: string;
    };
    await post(`/api/workflows/${failing.id}/fail`, { error: 'renderer down' });
    await proxy.cut();
    for (let i = 0; i < 5; i++) expect((await post('/api/feedback/submit', { rating: 2 })).status).toBe(503);
    await proxy.restore();
    // Several scrapes and rule evaluations.
    await sleep(3500);
  }, 60_000);

  afterAll(async () => {
    prometheus?.kill('SIGKILL');
    await app?.stop();
    await proxy?.stop();
    await db?.drop();
  });

  it('scrapes the backend', async () => {
    if (!prometheusBinary) return;
    const up = await query('up{job="terra_constellata"}');
    if (up.data!.result.length === 0) {
      const targets = await (await fetch(`${promUrl}/api/v1/targets`)).text();
      throw new Error(`no up series; targets: ${targets}\nprometheus log: ${promLog.slice(-2000)}`);
    }
    expect(up.data!.result).toEqual([expect.objectContaining({ value: [expect.any(Number), '1'] })]);
  });

  it('answers the spec example queries with data', async () => {
    if (!prometheusBinary) return;
    for (const expr of SPEC_QUERIES) {
      const result = await query(expr);
      expect({ expr, status: result.status }).toEqual({ expr, status: 'success' });
      expect({ expr, results: result.data!.result.length > 0 }).toEqual({ expr, results: true });
    }
  });

  it('evaluates every dashboard and rule expression without error', async () => {
    if (!prometheusBinary) return;
    const expressions = allExpressions();
    expect(expressions.length).toBeGreaterThan(60);
    const failures: string[] = [];
    for (const { where, expr } of expressions) {
      const result = await query(expr);
      if (result.status !== 'success') failures.push(`${where}: ${result.error}`);
    }
    expect(failures).toEqual([]);
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    const unhealthy = rules.data.groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok');
    expect(unhealthy.map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
    expect(rules.data.groups.flatMap((g) => g.rules)).toHaveLength(33);
  });

  it('uses in dashboards and rules only metrics the service exports', async () => {
    if (!prometheusBinary) return;
    const exported = new Set(
      parseExposition(await (await fetch(`${app.url}/metrics`)).text()).map((s) =>
        s.name.replace(/_(bucket|sum|count)$/, ''),
      ),
    );
    const used = new Set(
      allExpressions().flatMap(({ expr }) => expr.match(/\bterra_constellata_[a-z0-9_]+/g) ?? []),
    );
    expect(used.size).toBeGreaterThan(15);
    const missing = [...used]
      .map((name) => name.replace(/_(bucket|sum|count)$/, ''))
      .filter((name) => !exported.has(name));
    expect(missing).toEqual([]);
  });

  it('sees the errors it was shown', async () => {
    if (!prometheusBinary) return;
    const errors = await query('sum by (status_code) (terra_constellata_errors_total)');
    const byStatus = Object.fromEntries(
      (errors.data!.result as Array<{ metric: { status_code: string }; value: [number, string] }>).map(
        (r) => [r.metric.status_code, Number(r.value[1])],
      ),
    );
    expect(byStatus).toMatchObject({ '404': 5, '503': 5 });
    expect(promLog).not.toMatch(/level=error/);
  });
});
