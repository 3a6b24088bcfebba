import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { parseConfig } from '@app/config';
import { findBinary } from './support/binaries';

const ROOT = join(__dirname, '..');
type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function validate(yaml: string): { validated: string[]; errors: string[] } {
  const output = execFileSync(process.execPath, [join(ROOT, 'test', 'k8s', 'validate.mjs')], {
    input: yaml,
    encoding: 'utf8',
  });
  return JSON.parse(output) as { validated: string[]; errors: string[] };
}

describe('Kubernetes manifests (deploy/k8s)', () => {
  const kubectl = findBinary('kubectl', 'apt-get install -y kubernetes-client');
  const rendered: Record<string, Manifest[]> = {};
  const texts: Record<string, string> = {};

  beforeAll(() => {
    if (!kubectl) return;
    // A copy, with the production secrets file an operator would write from its example.
    const copy = mkdtempSync(join(tmpdir(), 'tc-k8s-'));
    cpSync(join(ROOT, 'deploy', 'k8s'), copy, { recursive: true });
    copyFileSync(
      join(copy, 'overlays', 'production', 'secrets.env.example'),
      join(copy, 'overlays', 'production', 'secrets.env'),
    );
    for (const target of ['base', 'overlays/dev', 'overlays/production']) {
      const result = spawnSync(kubectl, ['kustomize', join(copy, target)], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`kubectl kustomize ${target} failed: ${result.stderr}`);
      texts[target] = result.stdout;
      rendered[target] = parseAllDocuments(result.stdout).map((d) => d.toJSON() as Manifest);
    }
  });

  const find = (target: string, kind: string, name = 'terra-constellata') =>
    rendered[target].find((m) => m.kind === kind && m.metadata.name === name)!;

  it('keeps the generated PrometheusRule and dashboard ConfigMaps in step with monitoring/, and notices drift', () => {
    const check = spawnSync(process.execPath, [join(ROOT, 'scripts', 'k8s-generate.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    // A rule changed without regenerating: the check fails and names the file.
    const copy = mkdtempSync(join(tmpdir(), 'tc-k8s-gen-'));
    for (const dir of ['scripts', 'monitoring', 'deploy'])
      cpSync(join(ROOT, dir), join(copy, dir), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const alerts = join(copy, 'monitoring', 'rules', 'terra_constellata_alerts.yml');
    writeFileSync(alerts, readFileSync(alerts, 'utf8').replace('> 0.10', '> 0.05'));
    const drift = spawnSync(process.execPath, [join(copy, 'scripts', 'k8s-generate.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(drift.status).toBe(1);
    expect(drift.stderr).toContain('generated/prometheusrule.yaml differs from its source');
  });

  it('renders base, dev and production, and every manifest validates against the Kubernetes and Prometheus Operator schemas', () => {
    if (!kubectl) return;
    for (const target of Object.keys(texts)) {
      const { validated, errors } = validate(texts[target]);
      expect({ target, errors }).toEqual({ target, errors: [] });
      expect(validated.sort()).toEqual(
        [
          'ConfigMap/grafana-dashboard-terra-constellata-hosts',
          'ConfigMap/grafana-dashboard-terra-constellata-overview',
          'ConfigMap/grafana-dashboard-terra-constellata-slo',
          'ConfigMap/terra-constellata',
          'Deployment/terra-constellata',
          'HorizontalPodAutoscaler/terra-constellata',
          'NetworkPolicy/terra-constellata',
          'PodDisruptionBudget/terra-constellata',
          'PrometheusRule/terra-constellata',
          'Secret/terra-constellata',
          'Service/terra-constellata',
          'ServiceMonitor/terra-constellata',
        ].sort(),
      );
    }
    // The validation is real: a wrong type is refused.
    expect(
      validate(
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: three, selector: {}, template: {}}\n',
      ).errors,
    ).toEqual(['Deployment/x: data/spec/replicas must be integer']);
  });

  it('runs the pods locked down, probed, sized, and stopped in step with SHUTDOWN_GRACE_MS', () => {
    if (!kubectl) return;
    const deployment = find('overlays/production', 'Deployment');
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(deployment.spec.replicas).toBe(3);
    expect(container.image).toBe('registry.example.com/terra-constellata/backend:1.0.0');
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(container.startupProbe.httpGet.path).toBe('/health/live');
    expect(container.resources.requests).toEqual({ cpu: '250m', memory: '256Mi' });
    expect(container.resources.limits).toEqual({ cpu: '1', memory: '512Mi' });
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.volumeMounts.map((m: { mountPath: string }) => m.mountPath).sort()).toEqual([
      '/app/data',
      '/app/logs',
      '/tmp',
    ]);
    const config = find('overlays/production', 'ConfigMap').data as Record<string, string>;
    // JSON lines on stdout, no files inside the container.
    expect(config).toMatchObject({ LOG_DIR: '', LOG_CONSOLE: 'json', ENVIRONMENT: 'production' });
    const preStop = Number(container.lifecycle.preStop.exec.command[1]);
    const budget =
      preStop + Number(config.SHUTDOWN_GRACE_MS) / 1000 + Number(config.REQUEST_DEADLINE_MS) / 1000;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(budget);
    // The service starts with exactly this configuration and the example secrets.
    const secrets = Object.fromEntries(
      readFileSync(join(ROOT, 'deploy', 'k8s', 'overlays', 'production', 'secrets.env.example'), 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(() => parseConfig({ ...config, ...secrets })).not.toThrow();
    expect(parseConfig({ ...config, ...secrets }).shutdownGraceMs).toBe(5000);
    const dev = find('overlays/dev', 'Deployment');
    expect(dev.metadata.namespace).toBe('terra-constellata-dev');
    expect(dev.spec.replicas).toBe(1);
  });

  it('scrapes with the token from the Secret, ships the rules and dashboards, and lets only the ingress and Prometheus in', () => {
    if (!kubectl) return;
    const monitor = find('overlays/production', 'ServiceMonitor');
    const secret = find('overlays/production', 'Secret');
    expect(monitor.spec.endpoints[0]).toMatchObject({
      port: 'http',
      path: '/metrics',
      authorization: { type: 'Bearer', credentials: { name: 'terra-constellata', key: 'METRICS_TOKEN' } },
    });
    expect(Object.keys(secret.data ?? secret.stringData)).toContain('METRICS_TOKEN');
    const service = find('overlays/production', 'Service');
    expect(monitor.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'terra-constellata' });
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);

    const rule = find('overlays/production', 'PrometheusRule');
    const sources = [
      'terra_constellata_recording.yml',
      'terra_constellata_alerts.yml',
      'terra_constellata_slo.yml',
      'terra_constellata_self_monitoring.yml',
    ].flatMap(
      (f) =>
        (parseYaml(readFileSync(join(ROOT, 'monitoring', 'rules', f), 'utf8')) as { groups: unknown[] })
          .groups,
    );
    expect(rule.spec.groups).toEqual(sources);
    for (const name of readdirSync(join(ROOT, 'monitoring', 'grafana', 'dashboards'))) {
      const map = find(
        'overlays/production',
        'ConfigMap',
        `grafana-dashboard-${name.replace(/\.json$/, '')}`,
      );
      expect(map.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
      expect(JSON.parse(map.data[name])).toEqual(
        JSON.parse(readFileSync(join(ROOT, 'monitoring', 'grafana', 'dashboards', name), 'utf8')),
      );
    }

    const policy = find('overlays/production', 'NetworkPolicy');
    const peers = policy.spec.ingress.map(
      (rule: { from: Array<{ podSelector: { matchLabels: Record<string, string> } }> }) =>
        rule.from[0].podSelector.matchLabels['app.kubernetes.io/name'],
    );
    expect(peers).toEqual(['ingress-nginx', 'prometheus']);
    expect(policy.spec.podSelector.matchLabels).toEqual(
      find('overlays/production', 'Deployment').spec.selector.matchLabels,
    );
    expect(
      policy.spec.egress.flatMap((r: { ports: Array<{ port: number }> }) => r.ports.map((p) => p.port)),
    ).toEqual([53, 53, 5432, 443]);
  });
});
