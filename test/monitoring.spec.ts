import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseAlloy } from './support/alloy';
import { findBinary, itIfBinary } from './support/binaries';
import { checkDashboards } from './support/grafana-schema';

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
  'terra_constellata_self_monitoring.yml',
];
const rules = (): Rule[] =>
  RULE_FILES.flatMap((file) =>
    yaml<{ groups: Array<{ rules: Rule[] }> }>(join(MONITORING, 'rules', file)).groups.flatMap(
      (g) => g.rules,
    ),
  );

const RUNBOOK_BASE = readFileSync(join(MONITORING, 'runbook-base-url'), 'utf8').trim();
const runbookUrl = new RegExp(`^${RUNBOOK_BASE.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/[A-Za-z]+\\.md$`);
const runbookFile = (url: string) => join(ROOT, 'docs', 'runbooks', url.slice(RUNBOOK_BASE.length + 1));

interface DashboardPanel {
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
  links?: Array<{ url: string }>;
}
interface DashboardJson {
  schemaVersion: number;
  __inputs?: Array<{ name: string; pluginId: string }>;
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
  panels: DashboardPanel[];
}
const DASHBOARDS = [
  'terra-constellata-overview.json',
  'terra-constellata-slo.json',
  'terra-constellata-hosts.json',
];
// The template variables each dashboard selects by: the backend's job and instance, or the hosts and containers.
const VARIABLES: Record<string, string[]> = {
  'terra-constellata-overview.json': ['job', 'instance'],
  'terra-constellata-slo.json': ['job', 'instance'],
  'terra-constellata-hosts.json': ['node', 'container'],
};
/**
 * cAdvisor's container metrics, as its documentation lists them ("Prometheus container metrics",
 * docs/storage/prometheus.md in google/cadvisor): no cAdvisor binary runs here, so the Hosts and containers
 * dashboard is checked against this list. Only the names the dashboard may use are copied, with their type.
 */
const CADVISOR_METRICS: Record<string, 'counter' | 'gauge'> = {
  container_cpu_cfs_periods_total: 'counter',
  container_cpu_cfs_throttled_periods_total: 'counter',
  container_cpu_cfs_throttled_seconds_total: 'counter',
  container_cpu_system_seconds_total: 'counter',
  container_cpu_usage_seconds_total: 'counter',
  container_cpu_user_seconds_total: 'counter',
  container_fs_limit_bytes: 'gauge',
  container_fs_reads_bytes_total: 'counter',
  container_fs_usage_bytes: 'gauge',
  container_fs_writes_bytes_total: 'counter',
  container_last_seen: 'gauge',
  container_memory_cache: 'gauge',
  container_memory_rss: 'gauge',
  container_memory_usage_bytes: 'gauge',
  container_memory_working_set_bytes: 'gauge',
  container_network_receive_bytes_total: 'counter',
  container_network_receive_errors_total: 'counter',
  container_network_transmit_bytes_total: 'counter',
  container_network_transmit_errors_total: 'counter',
  container_spec_cpu_quota: 'gauge',
  container_spec_memory_limit_bytes: 'gauge',
  container_start_time_seconds: 'gauge',
};
const dashboard = (name: string, dir = 'dashboards') =>
  JSON.parse(readFileSync(join(MONITORING, 'grafana', dir, name), 'utf8')) as DashboardJson;
/** Every data source reference ({type, uid}) anywhere in a dashboard. */
const datasourceRefs = (d: unknown): Array<{ type: string; uid: string }> => {
  const found: Array<{ type: string; uid: string }> = [];
  const walk = (node: unknown, key?: string) => {
    if (Array.isArray(node)) node.forEach((n) => walk(n));
    else if (node && typeof node === 'object') {
      if (key === 'datasource') found.push(node as { type: string; uid: string });
      for (const [k, v] of Object.entries(node)) walk(v, k);
    }
  };
  walk(d);
  return found;
};

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
    expect(json.map((f) => relative(MONITORING, f)).sort()).toEqual(
      [
        ...DASHBOARDS.map((name) => `grafana/dashboards/${name}`),
        ...DASHBOARDS.map((name) => `grafana/import/${name}`),
      ].sort(),
    );
    for (const file of json) expect(() => JSON.parse(readFileSync(file, 'utf8'))).not.toThrow();
  });

  it('has the eight service alerts with their thresholds, durations, severities and runbooks', () => {
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
      ['HighMemoryUsage', 'warning', '5m', /> 8589934592\b/],
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
      // The Watchdog alone has no severity: it is a heartbeat, never a notification.
      expect(rule.alert === 'Watchdog' ? ['none'] : ['critical', 'warning', 'info']).toContain(
        rule.labels?.severity,
      );
      expect(rule.annotations).toEqual(
        expect.objectContaining({
          summary: expect.any(String),
          description: expect.any(String),
          runbook_url: expect.any(String),
        }),
      );
      expect(rule.annotations!.runbook_url).toMatch(runbookUrl);
      expect(existsSync(runbookFile(rule.annotations!.runbook_url))).toBe(true);
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
    // Trace links: Loki's derived field and Prometheus' exemplar destination, as Grafana provisions them
    // ($$ is a literal $, ${VAR} its environment) and then fills in ${__value.raw}.
    const full = yaml<{
      datasources: Array<{
        uid: string;
        jsonData: {
          derivedFields?: Array<{ name: string; matcherRegex: string; url: string }>;
          exemplarTraceIdDestinations?: Array<{ name: string; url: string }>;
        };
      }>;
    }>(join(MONITORING, 'grafana/provisioning/datasources/datasources.yml')).datasources;
    const provision = (text: string, env: Record<string, string>) =>
      text.replace(/\$\$|\$\{(\w+)\}|\$(\w+)/g, (m, a?: string, b?: string) =>
        m === '$$' ? '$' : (env[a ?? b!] ?? ''),
      );
    const derived = full.find((s) => s.uid === 'loki')!.jsonData.derivedFields!;
    expect(derived.map((f) => f.name)).toEqual(['trace_id']);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const line = `{"level":"INFO","time":"2026-12-03T14:00:00.000Z","request_id":"r-1","trace_id":"${traceId}","span_id":"00f067aa0ba902b7","msg":"API Request"}`;
    const match = new RegExp(derived[0].matcherRegex).exec(line);
    expect(match?.[1]).toBe(traceId);
    expect(new RegExp(derived[0].matcherRegex).exec(line.replace(traceId, 'not-a-trace'))).toBeNull();
    const env = { SENTRY_ORG_URL: 'https://my-org.sentry.io' };
    const link = (url: string, value: string) => provision(url, env).replace('${__value.raw}', value);
    expect(link(derived[0].url, match![1])).toBe(`https://my-org.sentry.io/performance/trace/${traceId}`);
    const exemplars = full.find((s) => s.uid === 'prometheus')!.jsonData.exemplarTraceIdDestinations!;
    expect(exemplars.map((e) => e.name)).toEqual(['trace_id']);
    expect(link(exemplars[0].url, traceId)).toBe(`https://my-org.sentry.io/performance/trace/${traceId}`);
    // The Overview's latency panel asks for exemplars.
    const latency = dashboard('terra-constellata-overview.json').panels.find(
      (p) => p.title === 'Latency p50 / p95 / p99',
    )!;
    expect(latency.targets!.map((t) => (t as { exemplar?: boolean }).exemplar)).toEqual([true, true, true]);
    expect(readFileSync(join(MONITORING, 'prometheus.yml'), 'utf8')).toContain(
      '--enable-feature=exemplar-storage',
    );
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

  it('ships the JSON log file to Loki with Alloy, with the job, level and service labels, and keeps logs a while', () => {
    const config = parseAlloy(readFileSync(join(MONITORING, 'alloy', 'config.alloy'), 'utf8'));
    const component = (name: string, label: string) => {
      const found = config.blocks.find((b) => b.name === name && b.label === label);
      if (!found) throw new Error(`config.alloy has no ${name} "${label}"`);
      return found;
    };
    const files = component('local.file_match', 'terra_constellata');
    expect(files.attributes.path_targets).toEqual([
      { __path__: '/var/log/terra_constellata/terra_constellata.log', job: 'terra_constellata' },
    ]);
    expect(component('loki.source.file', 'terra_constellata').attributes).toEqual({
      targets: { ref: 'local.file_match.terra_constellata.targets' },
      forward_to: [{ ref: 'loki.process.terra_constellata.receiver' }],
    });
    const process = component('loki.process', 'terra_constellata');
    expect(process.blocks.map((b) => b.name)).toEqual([
      'stage.multiline',
      'stage.json',
      'stage.labels',
      'stage.timestamp',
    ]);
    expect(process.blocks[0].attributes).toEqual({ firstline: '^\\{', max_wait_time: '3s' });
    expect(Object.keys(process.blocks[1].attributes.expressions as object)).toEqual(
      expect.arrayContaining(['level', 'service', 'time', 'msg', 'request_id', 'status_code']),
    );
    expect(process.blocks[2].attributes.values).toEqual({ level: '', service: '' });
    expect(process.blocks[3].attributes).toEqual({ source: 'time', format: 'RFC3339Nano' });
    expect(process.attributes.forward_to).toEqual([{ ref: 'loki.write.default.receiver' }]);
    const write = component('loki.write', 'default');
    expect(write.blocks[0]).toMatchObject({
      name: 'endpoint',
      attributes: { url: 'http://loki:3100/loki/api/v1/push' },
    });
    // Every reference names a component defined in the file.
    const defined = new Set(config.blocks.map((b) => `${b.name}.${b.label}`));
    const refs = JSON.stringify(config).match(/"ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) {
      const path = ref.slice(7, -1);
      expect([...defined].some((d) => path.startsWith(`${d}.`))).toBe(true);
    }
    expect(() => parseAlloy('loki.write "x" { endpoint { url = "unterminated } }')).toThrow(/unterminated/);
    const loki = yaml<{
      limits_config: { retention_period: string };
      compactor: { retention_enabled: boolean };
    }>(join(MONITORING, 'loki-config.yml'));
    expect(loki.limits_config.retention_period).toBe('744h');
    expect(loki.compactor.retention_enabled).toBe(true);
    // The backend writes its files where Alloy reads them.
    const app = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(app).toContain('backend_logs:/app/logs');
    expect(app).toContain('LOG_DIR: /app/logs');
    expect(readFileSync(join(ROOT, 'docker-compose.monitoring.yml'), 'utf8')).toContain(
      'backend_logs:/var/log/terra_constellata:ro',
    );
  });

  it('gives the dashboards job and instance variables, data sources bound by the provisioned uids, descriptions and runbook links', () => {
    const provisioned = new Map(
      yaml<{ datasources: Array<{ uid: string; type: string }> }>(
        join(MONITORING, 'grafana/provisioning/datasources/datasources.yml'),
      ).datasources.map((s) => [s.uid, s.type]),
    );
    for (const name of DASHBOARDS) {
      const d = dashboard(name);
      expect({ name, schemaVersion: d.schemaVersion }).toEqual({ name, schemaVersion: 42 });
      const variables = d.templating.list.map((v) => v.name);
      expect({ name, variables }).toEqual({ name, variables: VARIABLES[name] });
      // File provisioning does not fill in __inputs: every reference names a provisioned data source's uid.
      expect(d.__inputs).toBeUndefined();
      const refs = datasourceRefs(d);
      expect(refs.length).toBeGreaterThan(10);
      for (const ref of refs)
        expect({ name, ref, type: provisioned.get(ref.uid) }).toEqual({ name, ref, type: ref.type });
      const text = JSON.stringify(d);
      for (const used of new Set(text.match(/\$\{?([a-z_]+)/g) ?? [])) {
        const variable = used.replace(/^\$\{?/, '');
        if (variable.startsWith('__')) continue;
        expect({ name, variable, defined: variables.includes(variable) }).toEqual({
          name,
          variable,
          defined: true,
        });
      }
      for (const panel of d.panels.filter((p) => p.type !== 'row')) {
        expect({ panel: panel.title, description: (panel.description ?? '').length > 20 }).toEqual({
          panel: panel.title,
          description: true,
        });
        expect(['prometheus', 'loki']).toContain(panel.datasource?.uid);
        for (const link of panel.links ?? []) {
          expect(link.url).toMatch(runbookUrl);
          expect(existsSync(runbookFile(link.url))).toBe(true);
        }
        // Panels on the service's own metrics follow the job and instance selectors, but the example queries
        // (shown exactly as documented, with no selectors) and recording rules (service-wide by design).
        if (panel.datasource?.type !== 'prometheus' || panel.title.includes('example query')) continue;
        for (const target of panel.targets ?? []) {
          for (const selector of target.expr.match(/\bterra_constellata_[a-z0-9_]+(\{[^}]*\})?/g) ?? [])
            expect(selector).toContain('job="$job",instance=~"$instance"');
        }
      }
    }
    const linked = DASHBOARDS.flatMap((n) => dashboard(n).panels.flatMap((p) => p.links ?? []));
    expect(linked.length).toBeGreaterThanOrEqual(10);
  });

  it('builds the Hosts and containers dashboard on node-exporter and on cAdvisor names from its documented list', () => {
    const hosts = dashboard('terra-constellata-hosts.json');
    expect((hosts as unknown as { title: string }).title).toBe('Hosts and containers');
    const exprs = [
      ...hosts.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...hosts.templating.list.map((v) => (v.query as { query: string }).query),
    ];
    const used = (prefix: string) =>
      new Set(exprs.flatMap((e) => e.match(new RegExp(`\\b${prefix}_[a-z0-9_]+`, 'g')) ?? []));
    const containers = [...used('container')];
    expect(containers.length).toBeGreaterThanOrEqual(6);
    expect(containers.filter((n) => !(n in CADVISOR_METRICS))).toEqual([]);
    // rate() only of counters; gauges read as they are.
    for (const expr of exprs)
      for (const [, metric] of expr.matchAll(/rate\((container_[a-z0-9_]+)/g))
        expect({ metric, type: CADVISOR_METRICS[metric] }).toEqual({ metric, type: 'counter' });
    expect(used('node').size).toBeGreaterThanOrEqual(8);
  });

  it('keeps an importable copy of each dashboard, with __inputs, generated from it and never stale', () => {
    const script = join(ROOT, 'scripts', 'monitoring-dashboards.mjs');
    const check = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
    for (const name of DASHBOARDS) {
      const copy = dashboard(name, 'import');
      const refs = datasourceRefs(copy);
      expect(refs.length).toBe(datasourceRefs(dashboard(name)).length);
      // Only the import variables, each declared in __inputs: the UI import asks for each.
      const inputs = (copy.__inputs ?? []).map((i) => i.name);
      expect(inputs).toContain('DS_PROMETHEUS');
      for (const ref of refs) expect(inputs.map((i) => `\${${i}}`)).toContain(ref.uid);
    }
    // An edit of a source without regenerating is caught.
    const dir = mkdtempSync(join(tmpdir(), 'tc-dashboards-'));
    cpSync(join(ROOT, 'scripts'), join(dir, 'scripts'), { recursive: true });
    cpSync(MONITORING, join(dir, 'monitoring'), { recursive: true });
    cpSync(join(ROOT, '.prettierrc'), join(dir, '.prettierrc'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const source = join(dir, 'monitoring', 'grafana', 'dashboards', DASHBOARDS[0]);
    writeFileSync(source, readFileSync(source, 'utf8').replace('"Request rate"', '"Requests"'));
    const stale = spawnSync(
      process.execPath,
      [join(dir, 'scripts', 'monitoring-dashboards.mjs'), '--check'],
      {
        encoding: 'utf8',
      },
    );
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain(`monitoring/grafana/import/${DASHBOARDS[0]} differs from its source`);
  });

  it('type-checks the dashboards and their importable copies against @grafana/schema, and the check catches a broken one', () => {
    const problems = checkDashboards(
      ['dashboards', 'import'].flatMap((dir) =>
        DASHBOARDS.map((name) => ({
          name: `${dir}/${name}`,
          json: readFileSync(join(MONITORING, 'grafana', dir, name), 'utf8'),
        })),
      ),
    );
    expect(problems).toEqual([]);
    const broken = dashboard(DASHBOARDS[0]) as unknown as Record<string, unknown>;
    broken.schemaVersion = '42';
    (broken.panels as Array<Record<string, unknown>>)[1].gridPos = { h: 4, w: 6, x: 0 };
    (broken.templating as { list: Array<Record<string, unknown>> }).list[0].type = 'dropdown';
    const caught = checkDashboards([{ name: 'broken.json', json: JSON.stringify(broken, null, 2) }]).join(
      '\n',
    );
    expect(caught).toMatch(/Type 'string' is not assignable to type 'number'/);
    expect(caught).toMatch(/'y'/);
    expect(caught).toMatch(/dropdown/);
  });

  it('links every alert and dashboard panel to its runbook under one base URL, which one command changes', () => {
    const texts = [
      ...filesUnder(join(MONITORING, 'rules'), /\.yml$/),
      ...filesUnder(join(MONITORING, 'grafana', 'dashboards'), /\.json$/),
      ...filesUnder(join(MONITORING, 'grafana', 'import'), /\.json$/),
    ].map((f) => readFileSync(f, 'utf8'));
    const urls = texts.flatMap((t) => t.match(/https?:\/\/[^\s"']+\.md/g) ?? []);
    expect(urls.length).toBeGreaterThan(30);
    for (const url of urls) {
      expect(url).toMatch(runbookUrl);
      expect(existsSync(runbookFile(url))).toBe(true);
    }
    // The command rewrites every link in a copy of the repository's monitoring directory.
    const copy = mkdtempSync(join(tmpdir(), 'tc-runbooks-'));
    cpSync(MONITORING, join(copy, 'monitoring'), { recursive: true });
    cpSync(join(ROOT, 'scripts'), join(copy, 'scripts'), { recursive: true });
    execFileSync(
      process.execPath,
      [join(copy, 'scripts', 'runbook-base.mjs'), 'https://wiki.example.com/runbooks/'],
      {
        encoding: 'utf8',
      },
    );
    const rewritten = filesUnder(join(copy, 'monitoring'), /\.(yml|json)$/)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(rewritten).not.toContain(RUNBOOK_BASE);
    expect(rewritten.match(/https:\/\/wiki\.example\.com\/runbooks\/[A-Za-z]+\.md/g)).toHaveLength(
      urls.length,
    );
    expect(readFileSync(join(copy, 'monitoring', 'runbook-base-url'), 'utf8').trim()).toBe(
      'https://wiki.example.com/runbooks',
    );
  });

  it('builds the backend image in stages, without dev dependencies, as a non-root user, with a liveness check', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toContain('npm prune --omit=dev');
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/health\/live/);
    expect(dockerfile).toContain('CMD ["node", "dist/apps/api/src/main.js"]');
  });
});

describe('monitoring configuration checked by the real tools', () => {
  const promtool = findBinary('promtool', 'apt-get install -y prometheus') ?? '';
  const amtool = findBinary('amtool', 'apt-get install -y prometheus-alertmanager') ?? '';
  const compose = findBinary('docker-compose', 'apt-get install -y docker-compose') ?? '';
  const alertmanager =
    findBinary('prometheus-alertmanager', 'apt-get install -y prometheus-alertmanager') ?? '';

  itIfBinary(promtool)('passes promtool check config and check rules', () => {
    const result = run(promtool, ['check', 'config', 'prometheus.yml']);
    expect(result.output).toContain('SUCCESS: prometheus.yml is valid prometheus config file syntax');
    expect(result.status).toBe(0);
    const checked = run(promtool, ['check', 'rules', ...RULE_FILES.map((f) => `rules/${f}`)]);
    expect(checked.status).toBe(0);
  });

  itIfBinary(promtool)(
    'passes promtool test rules: every alert fires, stays silent below its threshold and waits its for',
    () => {
      const tests = readdirSync(join(MONITORING, 'rules', 'tests')).filter((f) => f.endsWith('.yml'));
      expect(tests.sort()).toEqual([
        'terra_constellata_alerts_test.yml',
        'terra_constellata_self_monitoring_test.yml',
        'terra_constellata_slo_test.yml',
      ]);
      const result = run(promtool, ['test', 'rules', ...tests], join(MONITORING, 'rules', 'tests'));
      expect(result.output).not.toContain('FAILED');
      expect(result.status).toBe(0);
      // Every alert has a test case.
      const tested = tests.map((f) => readFileSync(join(MONITORING, 'rules', 'tests', f), 'utf8')).join('\n');
      for (const rule of rules().filter((r) => r.alert))
        expect(tested).toContain(`"alertname": "${rule.alert}"`);
    },
  );

  itIfBinary(promtool)('keeps the commented remote_write block valid: promtool checks it uncommented', () => {
    const text = readFileSync(join(MONITORING, 'prometheus.yml'), 'utf8');
    const start = text.indexOf('# remote_write:');
    expect(start).toBeGreaterThan(0);
    const block = text
      .slice(start)
      .split('\n')
      .filter((line) => line.startsWith('#'))
      .map((line) => line.replace(/^# ?/, ''))
      .join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'tc-remote-write-'));
    cpSync(MONITORING, dir, { recursive: true });
    writeFileSync(join(dir, 'secrets', 'remote_write_password'), 'x');
    writeFileSync(join(dir, 'prometheus.yml'), `${text.slice(0, start)}${block}\n`);
    const result = run(promtool, ['check', 'config', 'prometheus.yml'], dir);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
    const parsed = yaml<{ remote_write: Array<{ url: string; write_relabel_configs: unknown[] }> }>(
      join(dir, 'prometheus.yml'),
    );
    expect(parsed.remote_write[0]).toMatchObject({ url: 'https://metrics.example.com/api/v1/write' });
  });

  itIfBinary(amtool)('passes amtool check-config and routes by severity', () => {
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
    // The Watchdog goes to the heartbeat receiver only, every minute.
    expect(route('alertname=Watchdog')).toBe('heartbeat');
    expect(route('severity=none')).toBe('chat');
    const config = yaml<{
      route: { routes: Array<{ receiver: string; repeat_interval?: string }> };
      receivers: Array<{ name: string; webhook_configs?: Array<{ url: string }> }>;
    }>(join(MONITORING, 'alertmanager.yml'));
    expect(config.route.routes.find((r) => r.receiver === 'heartbeat')?.repeat_interval).toBe('1m');
    expect(config.receivers.find((r) => r.name === 'heartbeat')?.webhook_configs?.[0].url).toMatch(
      /^https:\/\/[a-z.-]+\.invalid\//,
    );
  });

  it('scrapes every component of the stack, and the self-monitoring alerts read what the backend exports', () => {
    const config = yaml<{
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    }>(join(MONITORING, 'prometheus.yml'));
    expect(config.rule_files).toEqual(RULE_FILES.map((f) => `rules/${f}`));
    const targets = Object.fromEntries(
      config.scrape_configs.map((j) => [j.job_name, j.static_configs[0].targets]),
    );
    // Compose service names and the ports each component listens on (docker-compose.monitoring.yml).
    expect(targets).toEqual({
      terra_constellata: ['backend:8000'],
      prometheus: ['localhost:9090'],
      alertmanager: ['alertmanager:9093'],
      loki: ['loki:3100'],
      alloy: ['alloy:12345'],
      grafana: ['grafana:3000'],
      'node-exporter': ['node-exporter:9100'],
      cadvisor: ['cadvisor:8080'],
    });
    const compose = yaml<{ services: Record<string, { command?: string[] | string }> }>(
      join(ROOT, 'docker-compose.monitoring.yml'),
    ).services;
    for (const job of ['loki', 'alloy', 'grafana', 'alertmanager', 'node-exporter', 'cadvisor'])
      expect({ job, service: job in compose }).toEqual({ job, service: true });
    expect([compose.alloy.command].flat().join(' ')).toContain('--server.http.listen-addr=0.0.0.0:12345');
    // MonitoringTargetDown covers every job but the backend's own (BackendDown).
    const down = rules().find((r) => r.alert === 'MonitoringTargetDown')!;
    for (const job of Object.keys(targets).filter((j) => j !== 'terra_constellata'))
      expect(down.expr).toContain(job);
  });

  itIfBinary(compose)(
    'validates the compose files, alone and together, and they are closed by default',
    () => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        GF_SECURITY_ADMIN_PASSWORD: 'a-password-for-the-check',
      };
      delete env.MONITORING_BIND;
      delete env.BACKEND_BIND;
      const composeRun = (args: string[], environment: NodeJS.ProcessEnv) => {
        const result = spawnSync(compose, args, { cwd: ROOT, env: environment, encoding: 'utf8' });
        return { status: result.status, output: `${result.stdout}${result.stderr}`, stdout: result.stdout };
      };
      for (const files of [
        ['docker-compose.yml'],
        ['docker-compose.monitoring.yml'],
        ['docker-compose.yml', 'docker-compose.monitoring.yml'],
        // The dev loop (test/compose.spec.ts checks what it changes).
        ['docker-compose.monitoring.yml', 'docker-compose.dev.yml'],
      ]) {
        const result = composeRun([...files.flatMap((f) => ['-f', f]), 'config', '-q'], env);
        expect(result.output).toBe('');
        expect(result.status).toBe(0);
      }
      // Grafana refuses to start as admin/admin: without the password the stack does not even render.
      const unset: NodeJS.ProcessEnv = { ...env };
      delete unset.GF_SECURITY_ADMIN_PASSWORD;
      const refused = composeRun(['-f', 'docker-compose.monitoring.yml', 'config', '-q'], unset);
      expect(refused.status).not.toBe(0);
      expect(refused.output).toContain('set GF_SECURITY_ADMIN_PASSWORD');

      const merged = parseYaml(
        composeRun(['-f', 'docker-compose.yml', '-f', 'docker-compose.monitoring.yml', 'config'], env).stdout,
      ) as {
        services: Record<
          string,
          {
            image: string;
            build?: unknown;
            container_name?: string;
            command?: string[] | string;
            entrypoint?: string[];
            ports?: Array<{ host_ip?: string; published?: number | string } | string>;
            environment?: Record<string, string>;
          }
        >;
      };
      expect(Object.keys(merged.services).sort()).toEqual([
        'alertmanager',
        'alertmanager-2',
        'alloy',
        'backend',
        'cadvisor',
        'grafana',
        'loki',
        'node-exporter',
        'postgres',
        'prometheus',
      ]);
      for (const name of ['grafana', 'alloy', 'prometheus', 'loki', 'alertmanager']) {
        expect(merged.services[name].container_name).toBe(`terra_constellata_${name}`);
      }
      for (const [name, service] of Object.entries(merged.services)) {
        // Exact versions: no latest, no floating major or minor. The backend is built here, from the Dockerfile.
        if (!service.build)
          expect({ name, image: service.image }).toEqual({
            name,
            // PostgreSQL's own versions are major.minor.
            image: expect.stringMatching(
              name === 'postgres' ? /^postgres:\d+\.\d+-alpine$/ : /:v?\d+\.\d+\.\d+$/,
            ),
          });
        // Published on loopback only.
        for (const port of service.ports ?? []) {
          const hostIp = typeof port === 'string' ? port.split(':')[0] : port.host_ip;
          expect({ name, hostIp }).toEqual({ name, hostIp: '127.0.0.1' });
        }
      }
      const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
      expect(dockerfile).toMatch(/^FROM node:\d+\.\d+\.\d+-[a-z]+-slim AS/m);
      // Alertmanager clustering: the two instances name each other as peers; the second runs in the ha profile.
      const am1 = [merged.services.alertmanager.command].flat().join(' ');
      const am2 = [merged.services['alertmanager-2'].command].flat().join(' ');
      expect(am1).toContain('--cluster.peer=alertmanager-2:9094');
      expect(am2).toContain('--cluster.peer=alertmanager:9094');
      const prometheus = [merged.services.prometheus.command].flat().join(' ');
      expect(prometheus).not.toContain('--web.enable-lifecycle');
      expect(prometheus).toContain('--web.config.file=/etc/prometheus/secrets/web.yml');
      expect([merged.services.alertmanager.command].flat().join(' ')).toContain(
        '--web.config.file=/etc/alertmanager/auth/web.yml',
      );
      // Retention covers the longest range any rule or dashboard reads.
      const retention = /--storage\.tsdb\.retention\.time=(\d+)d/.exec(prometheus);
      expect(retention).not.toBeNull();
      const sources = [
        ...RULE_FILES.map((f) => readFileSync(join(MONITORING, 'rules', f), 'utf8')),
        ...DASHBOARDS.map((n) => readFileSync(join(MONITORING, 'grafana', 'dashboards', n), 'utf8')),
      ].join('\n');
      const days = (range: string) => {
        const [, n, unit] = /^(\d+)([smhdw])$/.exec(range)!;
        return (
          Number(n) *
          { s: 1 / 86400, m: 1 / 1440, h: 1 / 24, d: 1, w: 7 }[unit as 's' | 'm' | 'h' | 'd' | 'w']
        );
      };
      const longest = Math.max(
        ...(sources.match(/\[(\d+[smhdw])\]/g) ?? []).map((r) => days(r.slice(1, -1))),
      );
      expect(longest).toBe(30);
      expect(Number(retention![1])).toBeGreaterThanOrEqual(longest + 1);
      // Windows of a day and more read the recorded 5-minute rates, never the raw counters.
      for (const expr of rules().map((r) => r.expr)) {
        for (const [, selector, range] of expr.matchAll(/([a-z0-9_:]+)(?:\{[^}]*\})?\[(\d+[dw])\]/g))
          expect({ selector, range }).toEqual({
            selector: expect.stringMatching(/^terra_constellata:.*:rate5m$/),
            range,
          });
      }
    },
  );

  itIfBinary(promtool, amtool, alertmanager)(
    'protects Prometheus and Alertmanager with basic auth from generated secret files (promtool check web-config, a real Alertmanager)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tc-secrets-'));
      const generate = () =>
        execFileSync(process.execPath, [join(ROOT, 'scripts', 'monitoring-secrets.mjs'), '--dir', dir], {
          encoding: 'utf8',
        });
      generate();
      const password = readFileSync(join(dir, 'monitoring_password'), 'utf8');
      expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const web = readFileSync(join(dir, 'web.yml'), 'utf8');
      // Running it again keeps both files.
      generate();
      expect(readFileSync(join(dir, 'web.yml'), 'utf8')).toBe(web);
      const checked = run(promtool, ['check', 'web-config', join(dir, 'web.yml')]);
      expect(checked.output).toContain('SUCCESS');
      expect(checked.status).toBe(0);
      // The files compose mounts are the ones the script writes, and are not committed.
      const composeText = readFileSync(join(ROOT, 'docker-compose.monitoring.yml'), 'utf8');
      expect(composeText).toContain(
        './monitoring/secrets/monitoring_password:/etc/grafana/secrets/monitoring_password:ro',
      );
      expect(readFileSync(join(ROOT, '.gitignore'), 'utf8')).toContain('monitoring/secrets/web.yml');
      const prometheusYml = readFileSync(join(MONITORING, 'prometheus.yml'), 'utf8');
      expect(prometheusYml.match(/password_file: secrets\/monitoring_password/g)).toHaveLength(3);
      const datasources = readFileSync(
        join(MONITORING, 'grafana/provisioning/datasources/datasources.yml'),
        'utf8',
      );
      expect(
        datasources.match(/basicAuthPassword: \$__file\{\/etc\/grafana\/secrets\/monitoring_password\}/g),
      ).toHaveLength(2);

      // A real Alertmanager with that web config: 401 without the password, 200 with it.
      // A port the kernel just handed out, not a random one another test may hold.
      const port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const { port: free } = probe.address() as AddressInfo;
          probe.close(() => resolve(free));
        });
      });
      const child = spawn(
        alertmanager,
        [
          `--config.file=${join(MONITORING, 'alertmanager.yml')}`,
          `--web.config.file=${join(dir, 'web.yml')}`,
          `--storage.path=${join(dir, 'am-data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--cluster.listen-address=',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      try {
        const url = `http://127.0.0.1:${port}/api/v2/status`;
        let open: Response | undefined;
        // Up to 30 s: on a loaded machine (the whole suite on two cores) Alertmanager can take a while to listen.
        for (let i = 0; i < 300 && !open && child.exitCode === null; i++) {
          open = await fetch(url).catch(() => undefined);
          if (!open) await new Promise((r) => setTimeout(r, 100));
        }
        expect({ status: open?.status, stderr: open ? '' : stderr }).toEqual({ status: 401, stderr: '' });
        const authorized = await fetch(url, {
          headers: { authorization: `Basic ${Buffer.from(`terra:${password}`).toString('base64')}` },
        });
        expect(authorized.status).toBe(200);
        const wrong = await fetch(url, {
          headers: { authorization: `Basic ${Buffer.from('terra:wrong').toString('base64')}` },
        });
        expect(wrong.status).toBe(401);
      } finally {
        child.kill('SIGKILL');
      }
    },
    60_000,
  );
});
