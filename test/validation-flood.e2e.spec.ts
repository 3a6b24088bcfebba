import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { startBuiltApp, type BuiltApp } from './support/built-app';

interface Answer {
  status: number;
  bytes: number;
  body: string;
}

function post(url: URL, path: string, body: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks);
          resolve({ status: res.statusCode!, bytes: text.length, body: text.toString() });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function probe(url: URL): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // A fresh connection each time, as the kubelet's probe makes, with its 2 s timeout as a bound.
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: '/health/live', timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(performance.now() - started)
            : reject(new Error(`${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('probe took over 10 s')));
    req.on('error', reject);
    req.end();
  });
}

/** `count` unknown fields beside a valid rating, padded by one more to just under the 100 KB body limit. */
function unknownFields(count: number): string {
  const fields: Record<string, unknown> = { rating: 3 };
  for (let i = 0; i < count; i++) fields[`k${i.toString(36)}`] = 1;
  const size = Buffer.byteLength(JSON.stringify(fields));
  return JSON.stringify({ ...fields, pad: 'x'.repeat(99 * 1024 - size - 10) });
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

describe('a flood of 400-producing bodies', () => {
  let app: BuiltApp;
  let url: URL;

  beforeAll(async () => {
    app = await startBuiltApp({ ENVIRONMENT: 'production', LOG_DIR: '', SENTRY_DSN: '' });
    url = new URL(app.url);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('answers one with the first 20 problems and a count of the rest, in a few KB', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = unknownFields(10_000);
      expect(Buffer.byteLength(body)).toBeGreaterThan(95 * 1024);
      const answer = await post(url, '/api/feedback/submit', body, agent);
      expect(answer.status).toBe(400);
      expect(answer.bytes).toBeLessThan(8 * 1024);
      const parsed = JSON.parse(answer.body) as { details: string[]; message: string; request_id: string };
      expect(Object.keys(parsed).sort()).toEqual(['details', 'error', 'message', 'request_id', 'statusCode']);
      expect(parsed.details).toHaveLength(21);
      expect(parsed.details[0]).toBe('k0: property k0 should not exist');
      // 10,001 unknown fields, the padding one included.
      expect(parsed.details[20]).toBe('... and 9981 more problems (the first 20 are listed)');
      expect(parsed.message).toBe(parsed.details.join('; '));
    } finally {
      agent.destroy();
    }
  });

  it('keeps /health/live p99 under the 2 s probe timeout while 8 connections send them for 6 s', async () => {
    const body = unknownFields(10_000);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const until = performance.now() + 6000;
    const sizes: number[] = [];
    const statuses = new Set<number>();
    const flood = Array.from({ length: 8 }, async () => {
      while (performance.now() < until) {
        const answer = await post(url, '/api/feedback/submit', body, agent);
        statuses.add(answer.status);
        sizes.push(answer.bytes);
      }
    });
    const probes: number[] = [];
    // On a fixed schedule, as the kubelet probes, whether or not the previous probe has answered.
    const probing = (async () => {
      const pending: Array<Promise<void>> = [];
      while (performance.now() < until) {
        pending.push(probe(url).then((ms) => void probes.push(ms)));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await Promise.all(pending);
    })();
    try {
      await Promise.all([...flood, probing]);
    } finally {
      agent.destroy();
    }
    const p99 = percentile(probes, 99);
    process.stdout.write(
      `validation flood: ${sizes.length} answers of at most ${Math.max(...sizes, 0)} bytes in 6 s; ` +
        `${probes.length} probes, p50 ${percentile(probes, 50).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms\n`,
    );
    expect([...statuses]).toEqual([400]);
    expect(sizes.length).toBeGreaterThan(40);
    expect(Math.max(...sizes)).toBeLessThan(8 * 1024);
    expect(probes.length).toBeGreaterThanOrEqual(25);
    expect(p99).toBeLessThan(2000);
  }, 30_000);
});
