import { request as httpRequest } from 'node:http';
import { DataSource } from 'typeorm';
import { LearningLoopService } from '@app/feedback';
import { createTestApp, type TestApp } from './support/app';
import { parseExposition, valueOf } from './support/exposition';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** One request from a chosen loopback address (127.0.0.2 is another client on the same machine). */
function send(
  port: number,
  method: string,
  path: string,
  options: { body?: object; from?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        localAddress: options.from ?? '127.0.0.1',
        headers: { 'content-type': 'application/json', ...options.headers },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: text.startsWith('{') ? JSON.parse(text) : {},
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body ? JSON.stringify(options.body) : undefined);
  });
}

async function start(env: Record<string, string>): Promise<{ t: TestApp; port: number }> {
  const t = await createTestApp({
    RATE_LIMIT_WRITES: '5',
    RATE_LIMIT_READS: '1200',
    RATE_LIMIT_WINDOW_MS: '60000',
    ...env,
  });
  const server = t.app.getHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { t, port: (server.address() as { port: number }).port };
}

describe('write rate limits per client', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => ({ t, port } = await start({})));
  afterAll(() => t.close());

  const rows = async () =>
    Number((await t.app.get(DataSource).query('SELECT COUNT(*) AS n FROM feedback'))[0].n);

  it('allows RATE_LIMIT_WRITES writes across every write endpoint, then answers 429 with Retry-After', async () => {
    const writes: Answer[] = [];
    for (let i = 0; i < 3; i++)
      writes.push(await send(port, 'POST', '/api/feedback/submit', { body: { rating: 3 } }));
    writes.push(await send(port, 'POST', '/api/workflows', { body: { type: 'map_rendering' } }));
    writes.push(await send(port, 'POST', '/api/artworks', { body: { style: 'celestial' } }));
    expect(writes.map((w) => w.status)).toEqual([201, 201, 201, 201, 201]);
    expect(writes.map((w) => w.headers['ratelimit-remaining'])).toEqual(['4', '3', '2', '1', '0']);
    expect(writes[0].headers['ratelimit-limit']).toBe('5');
    expect(Number(writes[0].headers['ratelimit-reset'])).toBeGreaterThan(0);

    const before = await rows();
    const refused = await send(port, 'POST', '/api/feedback/submit', { body: { rating: 1 } });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-limit']).toBe('5');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThan(0);
    expect(refused.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    expect(String(refused.body.message)).toContain('RATE_LIMIT_WRITES');
    expect(await rows()).toBe(before);
  });

  it('leaves probes, /metrics and / alone, gives reads their own budget, and counts what it refused', async () => {
    for (const path of ['/health/ready', '/health/live', '/health', '/']) {
      const res = await send(port, 'GET', path);
      expect(res.status).toBe(200);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    }
    // The writes' budget is spent; reads count against RATE_LIMIT_READS (1200 here).
    const read = await send(port, 'GET', '/api/feedback/stats');
    expect(read.status).toBe(200);
    expect(read.headers['ratelimit-limit']).toBe('1200');
    const metrics = await new Promise<string>((resolve) =>
      httpRequest({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      }).end(),
    );
    expect(
      valueOf(parseExposition(metrics), 'terra_constellata_rate_limited_total', {
        route: '/api/feedback/submit',
      }),
    ).toBe(1);
  });

  it('gives another client its own budget', async () => {
    const other = await send(port, 'POST', '/api/feedback/submit', {
      body: { rating: 5 },
      from: '127.0.0.2',
    });
    expect(other.status).toBe(201);
    expect(other.headers['ratelimit-remaining']).toBe('4');
  });
});

describe('read rate limits per client', () => {
  const READS = 20;
  let t: TestApp;
  let port: number;

  beforeAll(async () => ({ t, port } = await start({ RATE_LIMIT_READS: String(READS) })));
  afterAll(() => t.close());

  it('answers a flood of GET /api/feedback/stats from one client with 429s and every RateLimit header, while /health/ready keeps answering within its probe timeout', async () => {
    const statuses = new Map<number, number>();
    let refusal: Answer | undefined;
    let sent = 0;
    // 8 connections, 400 reads in all, as fast as the service answers them.
    const flood = Array.from({ length: 8 }, async () => {
      while (sent < 400) {
        sent++;
        const res = await send(port, 'GET', '/api/feedback/stats');
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 429) refusal = res;
      }
    });
    const probeMs: number[] = [];
    let flooding = true;
    const probes = (async () => {
      while (flooding) {
        const started = performance.now();
        const res = await send(port, 'GET', '/health/ready', { from: '127.0.0.3' });
        probeMs.push(performance.now() - started);
        expect(res.status).toBe(200);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await Promise.all(flood);
    flooding = false;
    await probes;

    expect(Object.fromEntries(statuses)).toEqual({ 200: READS, 429: 400 - READS });
    expect(refusal!.headers['ratelimit-limit']).toBe(String(READS));
    expect(refusal!.headers['ratelimit-remaining']).toBe('0');
    expect(Number(refusal!.headers['ratelimit-reset'])).toBeGreaterThan(0);
    expect(Number(refusal!.headers['retry-after'])).toBeGreaterThan(0);
    expect(refusal!.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    expect(String(refusal!.body.message)).toContain('RATE_LIMIT_READS');
    // The kubelet's readiness probe gives up after 2 s.
    probeMs.sort((a, b) => a - b);
    expect(probeMs.length).toBeGreaterThan(3);
    expect(probeMs[Math.floor(probeMs.length * 0.99)]).toBeLessThan(2000);

    // Writes have their own budget; another client has its own reads.
    expect((await send(port, 'POST', '/api/feedback/submit', { body: { rating: 4 } })).status).toBe(201);
    const other = await send(port, 'GET', '/api/feedback/stats', { from: '127.0.0.2' });
    expect(other.status).toBe(200);
    expect(other.headers['ratelimit-remaining']).toBe(String(READS - 1));
    const metrics = await send(port, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
  });

  it('counts read refusals by route in rate_limited_total', async () => {
    const text = await new Promise<string>((resolve) =>
      httpRequest({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      }).end(),
    );
    expect(
      valueOf(parseExposition(text), 'terra_constellata_rate_limited_total', {
        route: '/api/feedback/stats',
      }),
    ).toBe(400 - READS);
  });
});

describe('write rate limits behind a trusted proxy', () => {
  it('tell clients apart by X-Forwarded-For only from the proxies in TRUST_PROXY', async () => {
    const { t, port } = await start({ TRUST_PROXY: '127.0.0.1' });
    try {
      const as = (client: string) =>
        send(port, 'POST', '/api/feedback/submit', {
          body: { rating: 4 },
          headers: { 'x-forwarded-for': client },
        });
      for (let i = 0; i < 5; i++) expect((await as('203.0.113.7')).status).toBe(201);
      expect((await as('203.0.113.7')).status).toBe(429);
      expect((await as('203.0.113.8')).status).toBe(201);
    } finally {
      await t.close();
    }
  });

  it('refuses a TRUST_PROXY it cannot read', async () => {
    await expect(start({ TRUST_PROXY: 'everyone' })).rejects.toThrow(
      'Invalid configuration: TRUST_PROXY must be false, true, a hop count, or a comma-separated list of proxy addresses or CIDRs',
    );
  });
});

describe('flagging needs distinct raters', () => {
  const SECRET = 'gateway-secret-of-at-least-32-characters';

  async function flaggedBy(t: TestApp, port: number): Promise<Array<[string, number]>> {
    await t.app.get(LearningLoopService).recompute('request');
    const insights = await send(port, 'GET', '/api/feedback/insights');
    return (insights.body.flagged_targets as Array<{ target_id: string; raters: number }>).map((f) => [
      f.target_id,
      f.raters,
    ]);
  }

  it('counts distinct clients, not the user ids they claim: five forged ids from one address are one rater', async () => {
    const { t, port } = await start({ RATE_LIMIT_WRITES: '0', FEEDBACK_FLAG_MIN_RATINGS: '5' });
    try {
      // One anonymous client, twenty times: one rater.
      for (let i = 0; i < 20; i++) {
        expect(
          (await send(port, 'POST', '/api/feedback/workflow/wf-target', { body: { rating: 1 } })).status,
        ).toBe(201);
      }
      // Five made-up user ids, in the header and in the body, from the same address: still one rater.
      for (const user of ['u1', 'u2', 'u3', 'u4', 'u5']) {
        await send(port, 'POST', '/api/feedback/workflow/wf-target', {
          body: { rating: 1 },
          headers: { 'x-user-id': user },
        });
        await send(port, 'POST', '/api/feedback/workflow/wf-target', {
          body: { rating: 1, user_id: `b-${user}` },
        });
      }
      expect(await flaggedBy(t, port)).toEqual([]);
      // Four more clients (other loopback addresses): five distinct raters, flagged.
      for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) {
        await send(port, 'POST', '/api/feedback/workflow/wf-target', { body: { rating: 1 }, from });
      }
      expect(await flaggedBy(t, port)).toEqual([['wf-target', 5]]);
    } finally {
      await t.close();
    }
  });

  it('counts the users a gateway vouches for with USER_ID_GATEWAY_SECRET, and only those', async () => {
    const { t, port } = await start({
      RATE_LIMIT_WRITES: '0',
      FEEDBACK_FLAG_MIN_RATINGS: '5',
      USER_ID_GATEWAY_SECRET: SECRET,
    });
    try {
      for (const user of ['u1', 'u2', 'u3', 'u4', 'u5']) {
        // The right secret: five users behind one gateway address.
        await send(port, 'POST', '/api/feedback/workflow/wf-vouched', {
          body: { rating: 1 },
          headers: { 'x-user-id': user, 'x-gateway-secret': SECRET },
        });
        // A wrong or missing secret leaves the id a claim: one client.
        await send(port, 'POST', '/api/feedback/workflow/wf-forged', {
          body: { rating: 1 },
          headers: { 'x-user-id': user, 'x-gateway-secret': `${SECRET}x` },
        });
        await send(port, 'POST', '/api/feedback/workflow/wf-forged', {
          body: { rating: 1 },
          headers: { 'x-user-id': `${user}-nosecret` },
        });
      }
      expect(await flaggedBy(t, port)).toEqual([['wf-vouched', 5]]);
    } finally {
      await t.close();
    }
  });

  it('refuses a USER_ID_GATEWAY_SECRET short enough to guess', async () => {
    await expect(start({ USER_ID_GATEWAY_SECRET: 'short' })).rejects.toThrow(
      'Invalid configuration: USER_ID_GATEWAY_SECRET must be 32 or more printable characters (no spaces)',
    );
  });
});

describe("an Idempotency-Key says nothing about another caller's use of it", () => {
  const key = { 'idempotency-key': 'order-42' };

  it('treats a forged user id from another address as another caller: no 422, no replay', async () => {
    const { t, port } = await start({ RATE_LIMIT_WRITES: '0' });
    try {
      const alice = await send(port, 'POST', '/api/feedback/submit', {
        body: { rating: 5, comment: 'alice' },
        headers: { ...key, 'x-user-id': 'alice' },
      });
      expect(alice.status).toBe(201);
      // Mallory claims to be alice, with alice's key and another body: her own submission, not "alice used it".
      const other = await send(port, 'POST', '/api/feedback/submit', {
        body: { rating: 1, comment: 'mallory' },
        headers: { ...key, 'x-user-id': 'alice' },
        from: '127.0.0.2',
      });
      expect(other.status).toBe(201);
      expect(other.body).toMatchObject({ comment: 'mallory' });
      expect(other.headers['idempotent-replayed']).toBeUndefined();
      // With alice's body too (from a third address, as the second has now used the key): stored as the
      // caller's own, never alice's record handed back.
      const same = await send(port, 'POST', '/api/feedback/submit', {
        body: { rating: 5, comment: 'alice' },
        headers: { ...key, 'x-user-id': 'alice' },
        from: '127.0.0.3',
      });
      expect(same.status).toBe(201);
      expect(same.headers['idempotent-replayed']).toBeUndefined();
      expect(same.body.id).not.toBe(alice.body.id);
      // Alice herself, retrying: her record.
      const retry = await send(port, 'POST', '/api/feedback/submit', {
        body: { rating: 5, comment: 'alice' },
        headers: { ...key, 'x-user-id': 'alice' },
      });
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body.id).toBe(alice.body.id);
    } finally {
      await t.close();
    }
  });

  it('scopes a key to the vouched user when a gateway vouches, from whatever address', async () => {
    const secret = 'gateway-secret-of-at-least-32-characters';
    const { t, port } = await start({ RATE_LIMIT_WRITES: '0', USER_ID_GATEWAY_SECRET: secret });
    try {
      const headers = { ...key, 'x-user-id': 'alice', 'x-gateway-secret': secret };
      const first = await send(port, 'POST', '/api/feedback/submit', { body: { rating: 5 }, headers });
      const retry = await send(port, 'POST', '/api/feedback/submit', {
        body: { rating: 5 },
        headers,
        from: '127.0.0.2',
      });
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body.id).toBe(first.body.id);
      // Without the secret, the same claim is another caller.
      const claimed = await send(port, 'POST', '/api/feedback/submit', {
        body: { rating: 1 },
        headers: { ...key, 'x-user-id': 'alice' },
      });
      expect(claimed.status).toBe(201);
      expect(claimed.headers['idempotent-replayed']).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
