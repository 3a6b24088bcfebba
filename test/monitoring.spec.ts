import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { findBinary } from './support/binaries';

const ROOT = join(__dirname, '..');
const MONITORING = join(ROOT, 'monitoring');

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, pattern);
    return pattern.test(entry.name) ? [path] : [];
  });
}

function yaml<T = Record<string, unknown>>(path: string): T {
  return parseYaml(readFileSync(path, 'utf8')) as T;
}

function run(binary: string, args: string[], cwd = MONITORING): { status: number | null; output: string } {
  const result = spawnSync(binary, args, { cwd, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const RULE_FILES = [
  'terra_constellata_recording.yml',
  'terra_constellata_alerts.yml',
  'terra_constellata_slo.yml',
];
const rules = (): Rule[] =>
  RULE_FILES.flatMap((file) =>
    yaml<{ groups: Array<{ rules: Rule[] }> }>(join(MONITORING, 'rules', file)).groups.flatMap(
      (g) => g.rules,
    ),
  );

describe('monitoring configuration files', () => {
  it('parses every YAML and JSON file of the stack', () => {
    const files = [
      ...filesUnder(MONITORING, /\.ya?ml$/),
      join(ROOT, 'docker-compose.yml'),
      join(ROOT, 'docker-compose.monitoring.yml'),
    ];
    expect(files.length).toBeGreaterThanOrEqual(12);
    for (const file of files) expect(() => yaml(file)).not.toThrow();
    const json = filesUnder(MONITORING, /\.json$/);
    expect(json.map((f) => relative(MONITORING, f)).sort()).toEqual([
      'grafana/dashboards/terra-constellata-overview.json',
      'grafana/dashboards/terra-constellata-slo.json',
    ]);
    for (const file of json) expect(() => JSON.parse(readFileSync(file, 'utf8'))).not.toThrow();
  });

  it('has the eight alerts of the spec, with their thresholds, durations, severities and runbooks', () => {
    const alerts = new Map(
      rules()
        .filter((r) => r.alert)
        .map((r) => [r.alert!, r]),
    );
    const spec: Array<[string, string, string, RegExp]> = [
      ['HighErrorRate', 'critical', '5m', /> 0\.10$/],
      ['BackendDown', 'critical', '1m', /up\{job="terra_constellata"\} == 0/],
      ['DatabaseDown', 'critical', '1m', /terra_constellata_database_up == 0/],
      ['HighCpuUsage', 'critical', '5m', /> 90$/],
      ['SlowApiResponse', 'warning', '5m', /p95_5m > 5$/],
      ['HighMemoryUsage', 'warning', '5m', /> 8589934592$/],
      ['HighWorkflowFailureRate', 'warning', '5m', /> 0\.20$/],
      ['LowUserFeedback', 'info', '10m', /< 1$/],
    ];
    for (const [name, severity, duration, threshold] of spec) {
      const rule = alerts.get(name);
      expect(rule).toBeDefined();
      expect(rule!.labels?.severity).toBe(severity);
      expect(rule!.for).toBe(duration);
      expect(rule!.expr.trim()).toMatch(threshold);
    }
    for (const rule of alerts.values()) {
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.annotations).toEqual(
        expect.objectContaining({
          summary: expect.any(String),
          description: expect.any(String),
          runbook_url: expect.any(String),
        }),
      );
      expect(existsSync(join(ROOT, rule.annotations!.runbook_url))).toBe(true);
    }
    expect([...alerts.keys()].filter((name) => name.startsWith('SLO'))).toHaveLength(4);
  });

  it('delivers the Grafana provisioning and both dashboards', () => {
    const sources = yaml<{ datasources: Array<{ uid: string; type: string; url: string }> }>(
      join(MONITORING, 'grafana/provisioning/datasources/datasources.yml'),
    ).datasources;
    expect(sources.map((s) => [s.uid, s.type, s.url])).toEqual([
      ['prometheus', 'prometheus', 'http://prometheus:9090'],
      ['loki', 'loki', 'http://loki:3100'],
      ['alertmanager', 'alertmanager', 'http://alertmanager:9093'],
    ]);
    const provider = yaml<{ providers: Array<{ options: { path: string } }> }>(
      join(MONITORING, 'grafana/provisioning/dashboards/dashboards.yml'),
    ).providers[0];
    const compose = readFileSync(join(ROOT, 'docker-compose.monitoring.yml'), 'utf8');
    expect(compose).toContain(`./monitoring/grafana/dashboards:${provider.options.path}:ro`);
    const overview = JSON.parse(
      readFileSync(join(MONITORING, 'grafana/dashboards/terra-constellata-overview.json'), 'utf8'),
    );
    expect(overview.title).toBe('Terra Constellata Overview');
    const titles = overview.panels.map((p: { title: string }) => p.title).join(' | ');
    for (const title of [
      'Request rate',
      'Error rate',
      'Latency p50 / p95 / p99',
      'CPU',
      'Memory',
      'Active connections',
      'Workflow failure rate',
      'Artworks generated',
      'Average rating',
      'Firing alerts',
      'Error logs',
    ]) {
      expect(titles).toContain(title);
    }
    expect(
      overview.panels.some(
        (p: { type: string; datasource?: { uid: string } }) =>
          p.type === 'logs' && p.datasource?.uid === 'loki',
      ),
    ).toBe(true);
  });

  it('ships the JSON log files to Loki with the job, level and service labels, and keeps logs for a while', () => {
    const promtail = yaml<{
      scrape_configs: Array<{
        static_configs: Array<{ labels: Record<string, string> }>;
        pipeline_stages: Array<Record<string, unknown>>;
      }>;
    }>(join(MONITORING, 'promtail-config.yml'));
    const job = promtail.scrape_configs[0];
    expect(job.static_configs[0].labels).toMatchObject({
      job: 'terra_constellata',
      __path__: '/var/log/terra_constellata/terra_constellata.log',
    });
    const stages = job.pipeline_stages.map((stage) => Object.keys(stage)[0]);
    expect(stages).toEqual(['multiline', 'json', 'labels', 'timestamp']);
    expect(Object.keys(job.pipeline_stages[2].labels as object)).toEqual(['level', 'service']);
    const loki = yaml<{
      limits_config: { retention_period: string };
      compactor: { retention_enabled: boolean };
    }>(join(MONITORING, 'loki-config.yml'));
    expect(loki.limits_config.retention_period).toBe('744h');
    expect(loki.compactor.retention_enabled).toBe(true);
    // The backend writes its files where Promtail reads them.
    const app = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(app).toContain('backend_logs:/app/logs');
    expect(app).toContain('LOG_DIR: /app/logs');
  });

  it('builds the backend image in stages, without dev dependencies, as a non-root user, with a liveness check', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toContain('npm prune --omit=dev');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/health\/live/);
    expect(dockerfile).toContain('CMD ["node", "dist/apps/api/src/main.js"]');
  });
});

describe('monitoring configuration checked by the real tools', () => {
  const promtool = findBinary('promtool', 'apt-get install -y prometheus');
  const amtool = findBinary('amtool', 'apt-get install -y prometheus-alertmanager');
  const compose = findBinary('docker-compose', 'apt-get install -y docker-compose');

  it('passes promtool check config and check rules', () => {
    if (!promtool) return;
    const result = run(promtool, ['check', 'config', 'prometheus.yml']);
    expect(result.output).toContain('SUCCESS: prometheus.yml is valid prometheus config file syntax');
    expect(result.status).toBe(0);
    const checked = run(promtool, ['check', 'rules', ...RULE_FILES.map((f) => `rules/${f}`)]);
    expect(checked.status).toBe(0);
  });

  it('passes promtool test rules: every alert fires, stays silent below its threshold and waits its for', () => {
    if (!promtool) return;
    const tests = readdirSync(join(MONITORING, 'rules', 'tests')).filter((f) => f.endsWith('.yml'));
    expect(tests.sort()).toEqual(['terra_constellata_alerts_test.yml', 'terra_constellata_slo_test.yml']);
    const result = run(promtool, ['test', 'rules', ...tests], join(MONITORING, 'rules', 'tests'));
    expect(result.output).not.toContain('FAILED');
    expect(result.status).toBe(0);
    // Every alert has a test case.
    const tested = tests.map((f) => readFileSync(join(MONITORING, 'rules', 'tests', f), 'utf8')).join('\n');
    for (const rule of rules().filter((r) => r.alert))
      expect(tested).toContain(`"alertname": "${rule.alert}"`);
  });

  it('passes amtool check-config and routes by severity', () => {
    if (!amtool) return;
    const result = run(amtool, ['check-config', 'alertmanager.yml']);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
    const route = (label: string) =>
      execFileSync(amtool, ['config', 'routes', 'test', '--config.file=alertmanager.yml', label], {
        cwd: MONITORING,
        encoding: 'utf8',
      }).trim();
    expect(route('severity=critical')).toBe('pager');
    expect(route('severity=warning')).toBe('chat');
    expect(route('severity=info')).toBe('chat');
  });

  it('validates the compose files, alone and together', () => {
    if (!compose) return;
    for (const files of [
      ['docker-compose.yml'],
      ['docker-compose.monitoring.yml'],
      ['docker-compose.yml', 'docker-compose.monitoring.yml'],
    ]) {
      const result = run(compose, [...files.flatMap((f) => ['-f', f]), 'config', '-q'], ROOT);
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    }
    const merged = parseYaml(
      execFileSync(compose, ['-f', 'docker-compose.yml', '-f', 'docker-compose.monitoring.yml', 'config'], {
        cwd: ROOT,
        encoding: 'utf8',
      }),
    ) as {
      services: Record<string, { container_name?: string; ports?: unknown[] }>;
    };
    expect(Object.keys(merged.services).sort()).toEqual([
      'alertmanager',
      'backend',
      'cadvisor',
      'grafana',
      'loki',
      'node-exporter',
      'postgres',
      'prometheus',
      'promtail',
    ]);
    for (const name of ['grafana', 'promtail', 'prometheus', 'loki', 'alertmanager']) {
      expect(merged.services[name].container_name).toBe(`terra_constellata_${name}`);
    }
  });
});
