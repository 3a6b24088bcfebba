#!/usr/bin/env node
// The development loop: the monitoring stack in Docker, the app on the host.
//   npm run dev:stack [-- --port <port>] [-- --write-only]
// 1. creates the stack's secrets when missing (scripts/monitoring-secrets.mjs);
// 2. writes monitoring/prometheus.dev.yml: monitoring/prometheus.yml with the backend job's target on the host
//    (host.docker.internal:<port>; --port, else PORT, else 8000), everything else (rule files, alerting, the
//    other jobs) as it is there, so the two cannot drift; it is rewritten on every run and not committed;
// 3. creates ./logs (Alloy tails it; Docker would create it as root) and runs
//    docker-compose -f docker-compose.monitoring.yml -f docker-compose.dev.yml up -d
//    without Alertmanager when SLACK_WEBHOOK_URL is not an http(s) URL (it would refuse to start), saying so.
// --write-only stops after step 3's mkdir: the files, no containers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseEnv } from 'dotenv';
import { parseDocument } from 'yaml';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const port = option('--port') ?? process.env.PORT ?? '8000';
if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
  console.error(`dev-stack: the port must be 1-65535, not ${JSON.stringify(port)}`);
  process.exit(64);
}
const fail = (message) => {
  console.error(`dev-stack: ${message}`);
  process.exit(1);
};

const secrets = spawnSync(process.execPath, [join(root, 'scripts', 'monitoring-secrets.mjs')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (secrets.status !== 0) fail('npm run monitoring:secrets failed');

const source = join(root, 'monitoring', 'prometheus.yml');
const document = parseDocument(readFileSync(source, 'utf8'));
const job = document
  .get('scrape_configs')
  ?.items.find((item) => item.get('job_name') === 'terra_constellata');
if (!job) fail('monitoring/prometheus.yml has no scrape job "terra_constellata"');
for (const group of job.get('static_configs').items)
  group.set('targets', document.createNode([`host.docker.internal:${port}`], { flow: true }));
document.commentBefore =
  ' Written by npm run dev:stack from prometheus.yml (edit that file; this one is rewritten on every run):\n' +
  ` the backend job scrapes the app on the host, host.docker.internal:${port}.`;
writeFileSync(join(root, 'monitoring', 'prometheus.dev.yml'), document.toString({ lineWidth: 0 }));
console.log(`dev-stack: wrote monitoring/prometheus.dev.yml (backend at host.docker.internal:${port})`);
mkdirSync(join(root, 'logs'), { recursive: true });
if (args.includes('--write-only')) process.exit(0);

const compose =
  spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0
    ? ['docker-compose']
    : ['docker', 'compose'];
const files = ['-f', 'docker-compose.monitoring.yml', '-f', 'docker-compose.dev.yml'];
const run = (more, stdio = 'inherit') =>
  spawnSync(compose[0], [...compose.slice(1), ...files, ...more], { cwd: root, stdio, encoding: 'utf8' });
let services = [];
// docker-compose reads .env for its variables too, with the environment first.
const dotenv = existsSync(join(root, '.env')) ? parseEnv(readFileSync(join(root, '.env'))) : {};
if (!/^https?:\/\/./.test(process.env.SLACK_WEBHOOK_URL || dotenv.SLACK_WEBHOOK_URL || '')) {
  const listed = run(['config', '--services'], ['ignore', 'pipe', 'inherit']);
  if (listed.status !== 0) process.exit(listed.status ?? 1);
  services = listed.stdout.split('\n').filter((name) => name && !name.startsWith('alertmanager'));
  console.log(
    'dev-stack: SLACK_WEBHOOK_URL is not set: starting without Alertmanager (alerts are evaluated, not delivered)',
  );
}
const up = run(['up', '-d', ...services]);
if (up.status !== 0) process.exit(up.status ?? 1);
console.log(
  `dev-stack: up. Start the app with npm run start:dev (PORT=${port}); Grafana http://127.0.0.1:3000, Prometheus http://127.0.0.1:9090 (user terra, monitoring/secrets/monitoring_password)`,
);
