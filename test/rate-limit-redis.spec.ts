import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Balancer } from '../bench/balancer';
import { startBuiltApp, type BuiltApp } from './support/built-app';
import { parseExposition, valueOf } from './support/exposition';
import { describeRedis, TestRedis } from './support/redis';

const WRITES = 30;

/** One request on its own connection, so the balancer spreads requests over the replicas. */
function send(base: string, method: string, path: string, body?: unknown): Promise<number> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(path, base),
      { method, agent: false, headers: payload ? { 'content-type': 'application/json' } : {} },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** `count` writes through the balancer, 3 at a time; the statuses counted. */
async function writes(base: string, count: number): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  let sent = 0;
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      while (sent < count) {
        sent++;
        const status = await send(base, 'POST', '/api/feedback/submit', { rating: 4 });
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  return statuses;
}

const lines = (app: BuiltApp, text: string) =>
  app
    .output()
    .split('\n')
    .filter((l) => l.includes(text)).length;
/** Log lines reach the output asynchronously: waits up to 2 s for `count` of them. */
async function awaitLines(app: BuiltApp, text: string, count: number): Promise<number> {
  for (let i = 0; i < 40 && lines(app, text) < count; i++) await sleep(50);
  return lines(app, text);
}
const FAILING = 'Rate-limit store (Redis) unavailable';
const RECOVERED = 'Rate-limit store (Redis) answers again';

describeRedis('one rate-limit budget across three replicas on Redis (built app)', () => {
  let redis: TestRedis;
  const replicas: BuiltApp[] = [];
  let balancer: Balancer;

  const storeErrors = async () => {
    let total = 0;
    for (const r of replicas) {
      const text = await new Promise<string>((resolve, reject) =>
        httpRequest(`${r.url}/metrics`, { agent: false }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve(body));
        })
          .on('error', reject)
          .end(),
      );
      total += valueOf(parseExposition(text), 'terra_constellata_rate_limit_store_errors_total');
    }
    return total;
  };

  beforeAll(async () => {
    redis = await TestRedis.start();
    // One after another: three starts at once on a busy 2-core machine can take longer than startBuiltApp waits.
    for (let i = 0; i < 3; i++)
      replicas.push(
        await startBuiltApp({
          LOG_DIR: '',
          RATE_LIMIT_STORE: 'redis',
          REDIS_URL: redis.url,
          RATE_LIMIT_WRITES: String(WRITES),
          RATE_LIMIT_READS: '1000',
          RATE_LIMIT_WINDOW_MS: '600000',
        }),
      );
    balancer = await Balancer.start(replicas.map((r) => r.url));
  }, 60_000);

  afterAll(async () => {
    await balancer?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    await redis?.stop();
  });

  it(`answers exactly RATE_LIMIT_WRITES (${WRITES}) writes 201 across the three, then 429`, async () => {
    expect(await writes(balancer.url, WRITES + 15)).toEqual({ 201: WRITES, 429: 15 });
    expect(await storeErrors()).toBe(0);
    for (const r of replicas) expect(lines(r, FAILING)).toBe(0);
  });

  it('keeps answering writes while Redis is down, counting in each replica and in the metric, with one log line each', async () => {
    await redis.stop();
    // Each replica now counts in its own memory, where this client has spent nothing yet.
    expect(await writes(balancer.url, 9)).toEqual({ 201: 9 });
    expect(await storeErrors()).toBeGreaterThanOrEqual(9);
    for (const r of replicas) expect(await awaitLines(r, FAILING, 1)).toBe(1);
  });

  it('limits across the replicas again once Redis is back, with one recovery line each', async () => {
    await redis.resume();
    // ioredis reconnects by itself (at most 2 s apart); a read through each replica shows when it has.
    for (const r of replicas) {
      for (let i = 0; i < 100 && lines(r, RECOVERED) === 0; i++) {
        expect(await send(r.url, 'GET', '/api/feedback/stats')).toBe(200);
        if (lines(r, RECOVERED) === 0) await sleep(100);
      }
      expect(lines(r, RECOVERED)).toBe(1);
    }
    // The restarted Redis is empty: a fresh budget, shared again.
    expect(await writes(balancer.url, WRITES + 6)).toEqual({ 201: WRITES, 429: 6 });
    for (const r of replicas) {
      expect(lines(r, FAILING)).toBe(1);
      expect(lines(r, RECOVERED)).toBe(1);
    }
  }, 30_000);

  it('does not hold a write for a Redis that accepts and never answers: 500 ms at most, then counted in memory', async () => {
    const before = await storeErrors();
    redis.pause(true);
    try {
      const started = Date.now();
      // One write per replica, each on its own connection to it.
      const statuses = await Promise.all(
        replicas.map((r) => send(r.url, 'POST', '/api/feedback/submit', { rating: 5 })),
      );
      const ms = Date.now() - started;
      expect(statuses).toEqual([201, 201, 201]);
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(2000);
      expect(await storeErrors()).toBe(before + 3);
      for (const r of replicas) expect(await awaitLines(r, FAILING, 2)).toBe(2);
    } finally {
      redis.pause(false);
    }
  }, 30_000);
});
