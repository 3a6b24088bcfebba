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
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
} & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function validate(yaml: string): { validated: string[]; errors: string[] } {
  const output = execFileSync(process.execPath, [join(ROOT, 'test', 'k8s', 'validate.mjs')], {
    input: yaml,
    encoding: 'utf8',
  });
  return JSON.parse(output) as { validated: string[]; errors: string[] };
}

/** A copy of deploy/k8s with the production secrets file an operator would write from its example. */
function productionCopy(): string {
  const copy = mkdtempSync(join(tmpdir(), 'tc-k8s-'));
  cpSync(join(ROOT, 'deploy', 'k8s'), copy, { recursive: true });
  copyFileSync(
    join(copy, 'overlays', 'production', 'secrets.env.example'),
    join(copy, 'overlays', 'production', 'secrets.env'),
  );
  return copy;
}
function render(copy: string, target = 'overlays/production'): Manifest[] {
  const result = spawnSync('kubectl', ['kustomize', join(copy, target)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${target} failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((d) => d.toJSON() as Manifest);
}

describe('Kubernetes manifests (deploy/k8s)', () => {
  const kubectl = findBinary('kubectl', 'apt-get install -y kubernetes-client');
  const withKubectl = kubectl ? it : it.skip;
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
    // The autoscaler owns the count (kube-score checks below).
    expect(deployment.spec.replicas).toBeUndefined();
    expect(find('overlays/production', 'HorizontalPodAutoscaler').spec.minReplicas).toBe(3);
    expect(container.image).toBe('registry.example.com/terra-constellata/backend:1.0.0');
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(container.startupProbe.httpGet.path).toBe('/health/live');
    expect(container.resources.requests).toEqual({
      cpu: '250m',
      memory: '256Mi',
      'ephemeral-storage': '256Mi',
    });
    expect(container.resources.limits).toEqual({ cpu: '1', memory: '512Mi', 'ephemeral-storage': '2560Mi' });
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
    expect(dev.spec.replicas).toBeUndefined();
    expect(find('overlays/dev', 'HorizontalPodAutoscaler').spec).toMatchObject({
      minReplicas: 1,
      maxReplicas: 2,
    });
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
    ).toEqual([53, 53, 5432, 6379, 443]);
  });

  withKubectl(
    'lets the pods reach PostgreSQL and Redis in the namespace of the example secrets, and nowhere else on their ports',
    () => {
      const policy = find('overlays/production', 'NetworkPolicy');
      const example = readFileSync(
        join(ROOT, 'deploy', 'k8s', 'overlays', 'production', 'secrets.env.example'),
        'utf8',
      );
      // postgres://...@postgresql.databases.svc:5432/...: the service postgresql in the namespace databases.
      const host = new URL(/^DATABASE_URL=(.*)$/m.exec(example)![1]).hostname;
      const [, namespace] = host.split('.');
      expect(host).toBe(`postgresql.${namespace}.svc`);
      const pod = (app: string) => ({ 'app.kubernetes.io/name': app, 'app.kubernetes.io/instance': 'x' });
      const at = (ns: string, app: string, port: number) =>
        admitsEgress(policy, { namespace: ns, labels: pod(app), port });
      expect(at(namespace, 'postgresql', 5432)).toBe(true);
      expect(at(namespace, 'redis', 6379)).toBe(true);
      // The database in the pods' own namespace still works; another namespace, app or port does not.
      expect(at('terra-constellata', 'postgresql', 5432)).toBe(true);
      expect(at('elsewhere', 'postgresql', 5432)).toBe(false);
      expect(at(namespace, 'mysql', 5432)).toBe(false);
      expect(at(namespace, 'postgresql', 6379)).toBe(false);
      // The check can fail: the base's policy before this overlay named no namespace but the pods' own.
      const ownNamespaceOnly = structuredClone(policy);
      ownNamespaceOnly.spec.egress[1].to = [ownNamespaceOnly.spec.egress[1].to[0]];
      expect(admitsEgress(ownNamespaceOnly, { namespace, labels: pod('postgresql'), port: 5432 })).toBe(
        false,
      );
      // REDIS_URL, when the example has one, points into the same namespace.
      const redis = /^REDIS_URL=(.+)$/m.exec(example)?.[1];
      if (redis) expect(new URL(redis).hostname.split('.')[1]).toBe(namespace);
    },
  );

  withKubectl(
    'changes the database namespace with the one value in overlays/production/networkpolicy-databases.yaml',
    () => {
      const copy = productionCopy();
      const patch = join(copy, 'overlays', 'production', 'networkpolicy-databases.yaml');
      writeFileSync(patch, readFileSync(patch, 'utf8').replaceAll('value: databases', 'value: data-tier'));
      const policy = render(copy).find((m) => m.kind === 'NetworkPolicy')!;
      const postgres = { 'app.kubernetes.io/name': 'postgresql' };
      expect(admitsEgress(policy, { namespace: 'data-tier', labels: postgres, port: 5432 })).toBe(true);
      expect(admitsEgress(policy, { namespace: 'databases', labels: postgres, port: 5432 })).toBe(false);
      expect(
        admitsEgress(policy, {
          namespace: 'data-tier',
          labels: { 'app.kubernetes.io/name': 'redis' },
          port: 6379,
        }),
      ).toBe(true);
    },
  );

  // kube-score (github.com/zegl/kube-score, score/) has no binary here: its checks for these points, as its source
  // states them, on the rendered base and production manifests.
  withKubectl.each(['base', 'overlays/production'])(
    "passes kube-score's user/group id, ephemeral storage, HPA replicas, anti-affinity and spread checks (%s)",
    (target) => {
      const manifests = rendered[target];
      const deployment = find(target, 'Deployment');
      const pod = deployment.spec.template.spec;
      const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
      for (const container of pod.containers) {
        const name = container.name as string;
        // container-security-context-user-group-id: runAsUser and runAsGroup >= 10000, the container's or the pod's.
        const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
        const group = container.securityContext?.runAsGroup ?? pod.securityContext?.runAsGroup;
        expect({ name, user: user >= 10000, group: group >= 10000 }).toEqual({
          name,
          user: true,
          group: true,
        });
        // container-security-context-readonlyrootfilesystem
        expect({ name, readOnly: container.securityContext?.readOnlyRootFilesystem }).toEqual({
          name,
          readOnly: true,
        });
        // container-ephemeral-storage-request-and-limit: both set and not zero.
        for (const kind of ['requests', 'limits'])
          expect({
            name,
            kind,
            set: /^[1-9]/.test(container.resources?.[kind]?.['ephemeral-storage'] ?? ''),
          }).toEqual({
            name,
            kind,
            set: true,
          });
      }
      // The image runs as that user: the Dockerfile's USER is the pod's runAsUser:runAsGroup.
      const dockerUser = /^USER (\S+)$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))![1];
      expect(dockerUser).toBe(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`);
      // deployment-targeted-by-hpa-does-not-have-replicas-configured
      const hpa = manifests.find(
        (m) =>
          m.kind === 'HorizontalPodAutoscaler' &&
          m.metadata.namespace === deployment.metadata.namespace &&
          m.spec.scaleTargetRef.kind.toLowerCase() === 'deployment' &&
          m.spec.scaleTargetRef.name === deployment.metadata.name,
      );
      expect(hpa).toBeDefined();
      expect(deployment.spec).not.toHaveProperty('replicas');
      // horizontalpodautoscaler-replicas: at least 2 (its default --min-replicas-hpa).
      expect(hpa!.spec.minReplicas).toBeGreaterThanOrEqual(2);
      // deployment-has-host-podantiaffinity: a preferred or required term on an approved topology key whose
      // selector matches the pod's own labels.
      const approved = [
        'kubernetes.io/hostname',
        'topology.kubernetes.io/region',
        'topology.kubernetes.io/zone',
      ];
      const anti = pod.affinity?.podAntiAffinity ?? {};
      const terms = [
        ...(anti.preferredDuringSchedulingIgnoredDuringExecution ?? []).map(
          (p: { podAffinityTerm: unknown }) => p.podAffinityTerm,
        ),
        ...(anti.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ] as Array<{ topologyKey: string; labelSelector: Selector }>;
      expect(terms.some((t) => approved.includes(t.topologyKey) && selects(t.labelSelector, podLabels))).toBe(
        true,
      );
      // pod-topology-spread-constraints: each constraint has a selector, a skew above 0, a key and a valid mode; and
      // here, one of them spreads across nodes.
      const spread = pod.topologySpreadConstraints as Array<{
        maxSkew: number;
        topologyKey: string;
        whenUnsatisfiable: string;
        labelSelector: Selector;
      }>;
      for (const c of spread) {
        expect(c.maxSkew).toBeGreaterThan(0);
        expect(c.topologyKey).toBeTruthy();
        expect(['DoNotSchedule', 'ScheduleAnyway']).toContain(c.whenUnsatisfiable);
        expect(selects(c.labelSelector, podLabels)).toBe(true);
      }
      expect(spread.map((c) => c.topologyKey)).toContain('kubernetes.io/hostname');
      // pod-networkpolicy: a NetworkPolicy of the namespace selects the pods.
      expect(
        manifests.some((m) => m.kind === 'NetworkPolicy' && selects(m.spec.podSelector, podLabels)),
      ).toBe(true);
    },
  );

  withKubectl(
    'has an Ingress example with TLS from cert-manager that renders, validates and reaches the Service',
    () => {
      const copy = productionCopy();
      const kustomization = join(copy, 'overlays', 'production', 'kustomization.yaml');
      const text = readFileSync(kustomization, 'utf8');
      expect(text).toContain('  # - ingress.yaml\n');
      writeFileSync(kustomization, text.replace('  # - ingress.yaml\n', '  - ingress.yaml\n'));
      const manifests = render(copy);
      const ingress = manifests.find((m) => m.kind === 'Ingress')!;
      expect(ingress.metadata.namespace).toBe('terra-constellata');
      expect(ingress.metadata.annotations?.['cert-manager.io/cluster-issuer']).toBeTruthy();
      const [tls] = ingress.spec.tls;
      const [rule] = ingress.spec.rules;
      expect(tls.hosts).toEqual([rule.host]);
      expect(tls.secretName).toBeTruthy();
      // kube-score ingress-targets-service: the backend is the Service and one of its ports.
      const backend = rule.http.paths[0].backend.service;
      const service = manifests.find((m) => m.kind === 'Service' && m.metadata.name === backend.name)!;
      expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(backend.port.name);
      const stdout = manifests.map((m) => `---\n${JSON.stringify(m)}\n`).join('');
      const { validated, errors } = validate(stdout);
      expect(errors).toEqual([]);
      expect(validated).toContain('Ingress/terra-constellata');
      expect(readFileSync(join(ROOT, 'docs', 'deployment.md'), 'utf8')).toContain(
        'cert-manager.io/cluster-issuer',
      );
    },
  );
});

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
/** matchLabels only: the manifests use no matchExpressions, and one would fail the check rather than pass it. */
function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector || selector.matchExpressions?.length) return false;
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

/**
 * Whether a NetworkPolicy lets its pods open TCP `port` to a pod with `labels` in `namespace` (whose only label is
 * kubernetes.io/metadata.name, as the API server sets it): a peer without namespaceSelector is the policy's own
 * namespace, an empty selector matches all. Named ports and ipBlock peers are not evaluated here.
 */
function admitsEgress(
  policy: Manifest,
  target: { namespace: string; labels: Record<string, string>; port: number },
): boolean {
  const namespaceLabels = { 'kubernetes.io/metadata.name': target.namespace };
  return (
    policy.spec.egress as Array<{ to?: Array<Record<string, Selector>>; ports?: Array<{ port: number }> }>
  ).some(
    (rule) =>
      (!rule.ports || rule.ports.some((p) => p.port === target.port)) &&
      (!rule.to ||
        rule.to.some(
          (peer) =>
            !peer.ipBlock &&
            (peer.namespaceSelector
              ? selects(peer.namespaceSelector, namespaceLabels)
              : target.namespace === policy.metadata.namespace) &&
            (!peer.podSelector || selects(peer.podSelector, target.labels)),
        )),
  );
}
