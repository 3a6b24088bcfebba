import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { findBinary } from './support/binaries';
import { BUILT_MAIN } from './support/built-app';

// The compose stacks as docker-compose renders them, and their commands run for real outside a container: the
// backend's read-token start-up, Alertmanager's refusal without a Slack URL, and HTTPS from the web config.
const ROOT = join(__dirname, '..');
const compose = findBinary('docker-compose', 'apt-get install -y docker-compose');
const promtool = findBinary('promtool', 'apt-get install -y prometheus');
const amtool = findBinary('amtool', 'apt-get install -y prometheus-alertmanager');
const alertmanager = findBinary('prometheus-alertmanager', 'apt-get install -y prometheus-alertmanager');
const openssl = findBinary('openssl', 'apt-get install -y openssl');
const withCompose = compose ? it : it.skip;

interface Service {
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string>;
  extra_hosts?: Record<string, string> | string[];
  volumes?: string[];
}
const BASE_ENV: NodeJS.ProcessEnv = { PATH: process.env.PATH, GF_SECURITY_ADMIN_PASSWORD: 'for-the-check' };

function composeRun(files: string[], args: string[], env: NodeJS.ProcessEnv = BASE_ENV) {
  const result = spawnSync(compose!, [...files.flatMap((f) => ['-f', f]), ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, output: `${result.stdout}${result.stderr}` };
}
function rendered(files: string[]): Record<string, Service> {
  const result = composeRun(files, ['config']);
  if (result.status !== 0) throw new Error(`docker-compose config failed: ${result.output}`);
  return (parseYaml(result.stdout) as { services: Record<string, Service> }).services;
}
/** The shell script of a service started as `sh -c <script>`, with compose's `$$` escapes resolved. */
function script(service: Service): string {
  expect(service.entrypoint).toEqual(['/bin/sh', '-c']);
  return [service.command].flat().join(' ').replace(/\$\$/g, '$');
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

interface Started {
  output(): string;
  exited: Promise<number | null>;
  kill(): void;
}
function start(command: string, env: NodeJS.ProcessEnv, cwd: string): Started {
  const child = spawn('/bin/sh', ['-c', command], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<number | null>((resolve) =>
    // 'close', not 'exit': the output is complete only once the pipes have closed.
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve(code);
    }),
  );
  return { output: () => out, exited, kill: () => child.kill('SIGKILL') };
}
/** Polls until `probe` answers (at most 30 s, the pace of a loaded two-core machine) or the process exits. */
async function until<T>(started: Started, probe: () => Promise<T | undefined>): Promise<T> {
  let exited = false;
  void started.exited.then(() => (exited = true));
  for (let i = 0; i < 300 && !exited; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer (exited: ${exited}):\n${started.output()}`);
}

function secretsIn(dir: string): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'monitoring-secrets.mjs'), '--dir', dir], {
    encoding: 'utf8',
  });
}

describe('compose stacks (docker-compose config)', () => {
  withCompose(
    'renders the app stack, the monitoring stack, both, and the dev loop, without a warning',
    () => {
      for (const files of [
        ['docker-compose.yml'],
        ['docker-compose.monitoring.yml'],
        ['docker-compose.yml', 'docker-compose.monitoring.yml'],
        ['docker-compose.monitoring.yml', 'docker-compose.dev.yml'],
      ]) {
        const result = composeRun(files, ['config', '-q']);
        expect({ files, status: result.status, output: result.output }).toEqual({
          files,
          status: 0,
          output: '',
        });
      }
    },
  );

  withCompose(
    'dev loop: Prometheus scrapes the app on the host with the same rules, Alloy tails ./logs (npm run dev:stack --write-only, promtool)',
    () => {
      const base = rendered(['docker-compose.monitoring.yml']);
      const dev = rendered(['docker-compose.monitoring.yml', 'docker-compose.dev.yml']);
      // The same flags, exemplar storage included, with the generated config.
      const flags = (s: Service) => [s.command].flat() as string[];
      expect(flags(base.prometheus)).toContain('--enable-feature=exemplar-storage');
      expect(flags(dev.prometheus)).toEqual(
        flags(base.prometheus).map((flag) =>
          flag.startsWith('--config.file=') ? '--config.file=/etc/prometheus/prometheus.dev.yml' : flag,
        ),
      );
      const hosts = dev.prometheus.extra_hosts;
      expect(
        Array.isArray(hosts) ? hosts : Object.entries(hosts ?? {}).map(([host, ip]) => `${host}:${ip}`),
      ).toContain('host.docker.internal:host-gateway');
      // Alloy reads the repository's logs where the backend's volume was, and the path its config tails.
      const logMounts = (s: Service) =>
        (s.volumes ?? []).filter((v) => v.split(':')[1] === '/var/log/terra_constellata');
      expect(logMounts(base.alloy)).toEqual([
        expect.stringMatching(/^terra_constellata_backend_logs:|^backend_logs:/),
      ]);
      expect(logMounts(dev.alloy)).toEqual([`${join(ROOT, 'logs')}:/var/log/terra_constellata:ro`]);
      expect(readFileSync(join(ROOT, 'monitoring', 'alloy', 'config.alloy'), 'utf8')).toContain(
        '"__path__" = "/var/log/terra_constellata/terra_constellata.log"',
      );

      // The generated config, in a copy of the repository: everything of prometheus.yml but the backend target.
      const copy = mkdtempSync(join(tmpdir(), 'tc-dev-stack-'));
      for (const dir of ['scripts', 'monitoring'])
        cpSync(join(ROOT, dir), join(copy, dir), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
      const devStack = (...args: string[]) =>
        spawnSync(process.execPath, [join(copy, 'scripts', 'dev-stack.mjs'), ...args], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH },
        });
      const refused = devStack('--write-only', '--port', '0');
      expect({ status: refused.status, stderr: refused.stderr.trim() }).toEqual({
        status: 64,
        stderr: 'dev-stack: the port must be 1-65535, not "0"',
      });
      const written = devStack('--write-only', '--port', '8123');
      expect(written.stderr).toBe('');
      expect(written.status).toBe(0);
      expect(existsSync(join(copy, 'logs'))).toBe(true);
      expect(existsSync(join(copy, 'monitoring', 'secrets', 'backend', 'feedback_read_token'))).toBe(true);
      type PrometheusConfig = {
        scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }> }>;
      } & Record<string, unknown>;
      const original = parseYaml(
        readFileSync(join(ROOT, 'monitoring', 'prometheus.yml'), 'utf8'),
      ) as PrometheusConfig;
      const generated = parseYaml(
        readFileSync(join(copy, 'monitoring', 'prometheus.dev.yml'), 'utf8'),
      ) as PrometheusConfig;
      const job = generated.scrape_configs.find((j) => j.job_name === 'terra_constellata')!;
      expect(job.static_configs!.map((g) => g.targets)).toEqual([['host.docker.internal:8123']]);
      expect(original.scrape_configs.find((j) => j.job_name === 'terra_constellata')).toBeDefined();
      const withoutTargets = (config: PrometheusConfig) => ({
        ...config,
        scrape_configs: config.scrape_configs.map((j) =>
          j.job_name === 'terra_constellata'
            ? { ...j, static_configs: j.static_configs!.map((g) => ({ ...g, targets: [] })) }
            : j,
        ),
      });
      expect(withoutTargets(generated)).toEqual(withoutTargets(original));
      if (promtool) {
        const checked = spawnSync(promtool, ['check', 'config', 'prometheus.dev.yml'], {
          cwd: join(copy, 'monitoring'),
          encoding: 'utf8',
        });
        expect(checked.stdout).toContain(
          'SUCCESS: prometheus.dev.yml is valid prometheus config file syntax',
        );
        expect(checked.status).toBe(0);
      }
      expect(readFileSync(join(ROOT, '.gitignore'), 'utf8')).toContain('monitoring/prometheus.dev.yml');
      rmSync(copy, { recursive: true, force: true });
    },
  );
});

describe('the compose backend and its generated read token (the built service)', () => {
  const withBuild = compose && existsSync(BUILT_MAIN) ? it : it.skip;
  if (!existsSync(BUILT_MAIN)) process.stderr.write(`[tests] ${BUILT_MAIN} missing: run npm run build\n`);

  async function startBackend(secrets: string): Promise<{ url: string; started: Started }> {
    const backend = rendered(['docker-compose.yml']).backend;
    expect(backend.volumes).toContain(
      `${join(ROOT, 'monitoring', 'secrets', 'backend')}:/run/secrets/terra:ro`,
    );
    const command = script(backend)
      .replaceAll('/run/secrets/terra', secrets)
      .replace('exec node dist/apps/api/src/main.js', `exec "${process.execPath}" "${BUILT_MAIN}"`);
    const cwd = mkdtempSync(join(tmpdir(), 'tc-compose-backend-'));
    const started = start(
      command,
      {
        PATH: process.env.PATH,
        ...backend.environment,
        // What the container's network and volumes provide, here: a free port, the embedded database.
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: '',
        LOG_DIR: join(cwd, 'logs'),
        SQLITE_PATH: join(cwd, 'db.sqlite'),
        SHUTDOWN_GRACE_MS: '0',
      },
      cwd,
    );
    const url = await until(started, () =>
      Promise.resolve(/listening on (http:\/\/[\d.]+:\d+)/.exec(started.output())?.[1]),
    );
    return { url, started };
  }

  withBuild(
    'reads monitoring/secrets/backend/feedback_read_token into FEEDBACK_READ_TOKENS: GET /api/feedback/recent answers 200 with it',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tc-compose-secrets-'));
      secretsIn(dir);
      const token = readFileSync(join(dir, 'backend', 'feedback_read_token'), 'utf8');
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const { url, started } = await startBackend(join(dir, 'backend'));
      try {
        const recent = (authorization?: string) =>
          fetch(`${url}/api/feedback/recent`, { headers: authorization ? { authorization } : {} });
        expect((await recent(`Bearer ${token}`)).status).toBe(200);
        expect((await recent()).status).toBe(401);
        expect((await recent('Bearer not-the-generated-token')).status).toBe(401);
      } finally {
        started.kill();
      }
    },
    60_000,
  );

  withBuild(
    'without the file, says so in one line and refuses anonymous reads (403)',
    async () => {
      const empty = mkdtempSync(join(tmpdir(), 'tc-compose-nosecrets-'));
      const { url, started } = await startBackend(empty);
      try {
        expect((await fetch(`${url}/api/feedback/recent`)).status).toBe(403);
        expect(started.output().split('\n')[0]).toBe(
          'backend: no FEEDBACK_READ_TOKENS and no monitoring/secrets/backend/feedback_read_token (npm run monitoring:secrets writes it): GET /api/feedback/recent answers 403',
        );
      } finally {
        started.kill();
      }
    },
    60_000,
  );
});

describe('Alertmanager in compose (the real alertmanager and amtool)', () => {
  const withAlertmanager = compose && amtool && alertmanager ? it : it.skip;

  /** The compose command of the first Alertmanager, pointed at a directory instead of the container's paths. */
  async function alertmanagerCommand(dir: string) {
    const service = rendered(['docker-compose.monitoring.yml']).alertmanager;
    const port = await freePort();
    mkdirSync(join(dir, 'run'), { recursive: true });
    secretsIn(join(dir, 'auth'));
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      readFileSync(join(ROOT, 'monitoring', 'alertmanager.yml'), 'utf8').replaceAll(
        '/etc/alertmanager/secrets',
        join(dir, 'run'),
      ),
    );
    const command = script(service)
      .replaceAll('/etc/alertmanager/secrets', join(dir, 'run'))
      .replace('/etc/alertmanager/alertmanager.yml', join(dir, 'alertmanager.yml'))
      .replace('/etc/alertmanager/auth', join(dir, 'auth'))
      .replace('exec /bin/alertmanager', `exec ${alertmanager}`)
      .replace('--storage.path=/alertmanager', `--storage.path=${join(dir, 'data')}`)
      .replace(
        /--cluster\.listen-address=\S+/,
        `--cluster.listen-address= --web.listen-address=127.0.0.1:${port}`,
      )
      .replace(/--cluster\.peer=\S+/, '');
    return { command, port, environment: service.environment };
  }

  withAlertmanager(
    'refuses to start without an http(s) SLACK_WEBHOOK_URL, in one line with exit 78; starts with one, and amtool passes its config',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tc-am-guard-'));
      const { command, port, environment } = await alertmanagerCommand(dir);
      expect(environment).toMatchObject({ SLACK_WEBHOOK_URL: '' });
      for (const value of ['', 'hooks.slack.com/services/T0/B0/X']) {
        const refused = start(command, { PATH: process.env.PATH, SLACK_WEBHOOK_URL: value }, dir);
        expect({ value, code: await refused.exited }).toEqual({ value, code: 78 });
        expect(refused.output().trimEnd().split('\n')).toEqual([
          'alertmanager: SLACK_WEBHOOK_URL is unset or not an http(s) URL, so every notification would fail: set it (https://hooks.slack.com/services/...) and run docker-compose up again',
        ]);
        expect(existsSync(join(dir, 'run', 'slack_webhook_url'))).toBe(false);
      }
      // Why the guard sits before Alertmanager: it reads api_url_file only when it sends, so its own check passes
      // with an empty file.
      writeFileSync(join(dir, 'run', 'slack_webhook_url'), '');
      writeFileSync(join(dir, 'run', 'pagerduty_routing_key'), '');
      const emptyChecked = spawnSync(amtool!, ['check-config', join(dir, 'alertmanager.yml')], {
        encoding: 'utf8',
      });
      expect(emptyChecked.status).toBe(0);

      const url = 'https://hooks.slack.com/services/T000/B000/XXXXXXXX';
      const started = start(command, { PATH: process.env.PATH, SLACK_WEBHOOK_URL: url }, dir);
      try {
        const status = await until(
          started,
          async () => (await fetch(`http://127.0.0.1:${port}/-/healthy`)).status,
        );
        expect(status).toBe(401);
        expect(readFileSync(join(dir, 'run', 'slack_webhook_url'), 'utf8')).toBe(url);
        const checked = spawnSync(amtool!, ['check-config', join(dir, 'alertmanager.yml')], {
          encoding: 'utf8',
        });
        expect(checked.stdout).toContain('SUCCESS');
        expect(checked.status).toBe(0);
      } finally {
        started.kill();
      }
    },
    60_000,
  );

  const withTls = compose && promtool && alertmanager && openssl ? it : it.skip;
  withTls(
    'serves HTTPS only when tls.crt and tls.key sit beside web.yml (promtool check web-config, a real Alertmanager)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tc-am-tls-'));
      const auth = join(dir, 'auth');
      mkdirSync(auth);
      // A self-signed certificate for 127.0.0.1, which the client below trusts.
      execFileSync(
        openssl!,
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          'tls.key',
          '-out',
          'tls.crt',
        ],
        { stdio: 'ignore', cwd: auth },
      );
      const { command, port } = await alertmanagerCommand(dir);
      const web = readFileSync(join(auth, 'web.yml'), 'utf8');
      expect(web).toContain('tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n');
      const checked = spawnSync(promtool!, ['check', 'web-config', join(auth, 'web.yml')], {
        encoding: 'utf8',
      });
      expect(`${checked.stdout}${checked.stderr}`).toContain('SUCCESS');
      expect(checked.status).toBe(0);

      const password = readFileSync(join(auth, 'monitoring_password'), 'utf8');
      const ca = readFileSync(join(auth, 'tls.crt'));
      const get = (path: string, user?: string) =>
        new Promise<number>((resolve, reject) => {
          const req = httpsRequest(
            { host: '127.0.0.1', port, path, ca, auth: user, timeout: 2000 },
            (res) => {
              res.resume();
              resolve(res.statusCode!);
            },
          );
          req.on('error', reject);
          req.end();
        });
      const started = start(
        command,
        { PATH: process.env.PATH, SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/X' },
        dir,
      );
      try {
        expect(await until(started, () => get('/-/healthy'))).toBe(401);
        expect(await get('/api/v2/status', `terra:${password}`)).toBe(200);
        // Plain HTTP gets no API: Go's TLS server answers it 400.
        expect((await fetch(`http://127.0.0.1:${port}/api/v2/status`)).status).toBe(400);
      } finally {
        started.kill();
      }
      // Without the certificate, the script writes web.yml back to plain HTTP.
      rmSync(join(auth, 'tls.crt'));
      secretsIn(auth);
      expect(readFileSync(join(auth, 'web.yml'), 'utf8')).not.toContain('tls_server_config');
    },
    60_000,
  );
});
