import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBuiltApp, type BuiltApp } from './support/built-app';
import { parseExposition, valueOf } from './support/exposition';

const portOf = (app: BuiltApp) => Number(new URL(app.url).port);

/** A raw connection that records everything the server sends on it, and when it was closed. */
function rawConnection(port: number) {
  const socket = connect(port, '127.0.0.1');
  const opened = Date.now();
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - opened)));
  return { socket, closed, received: () => received };
}

async function metrics(app: BuiltApp, agent?: Agent): Promise<ReturnType<typeof parseExposition>> {
  const text = await new Promise<string>((resolve, reject) =>
    httpRequest(`${app.url}/metrics`, { agent }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end(),
  );
  return parseExposition(text);
}

/** GET on a new connection; the status, or the error code when the connection was refused or reset. */
function probe(url: string, agent: Agent | false = false): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

/** Every HTTP status line in what a server sent on one connection. */
const statusLines = (text: string) => text.match(/^HTTP\/1\.1 \d{3}/gm) ?? [];

describe('connection limits (built app)', () => {
  const CAP = 40;
  const HEADERS_TIMEOUT_MS = 1000;
  let app: BuiltApp;

  beforeAll(async () => {
    app = await startBuiltApp({
      LOG_DIR: '',
      MAX_CONNECTIONS: String(CAP),
      HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      REQUEST_TIMEOUT_MS: '2000',
      REQUEST_DEADLINE_MS: '1000',
    });
  });
  afterAll(() => app.stop());

  it('closes a connection that sends nothing with one 408 within HEADERS_TIMEOUT_MS + 1 s', async () => {
    const silent = rawConnection(portOf(app));
    const ms = await Promise.race([silent.closed, sleep(6000).then(() => -1)]);
    expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + 1500);
    expect(statusLines(silent.received())).toEqual(['HTTP/1.1 408']);
    expect(JSON.parse(silent.received().split('\r\n\r\n')[1])).toMatchObject({
      statusCode: 408,
      error: 'Request Timeout',
    });
  });

  it('refuses connections over MAX_CONNECTIONS at once, counts them, and lets /health/live in again within HEADERS_TIMEOUT_MS + 1 s', async () => {
    const refusedBefore = valueOf(await metrics(app), 'terra_constellata_connections_refused_total');
    // An idle keep-alive connection gives way to the flood: the first refusal closes the idle ones.
    const idle = new Agent({ keepAlive: true, maxSockets: 1 });
    expect(await probe(`${app.url}/health/live`, idle)).toBe(200);
    const idleSocket = Object.values(idle.freeSockets)[0]![0];
    const idleClosed = new Promise<void>((resolve) => idleSocket.once('close', () => resolve()));

    const flood = Array.from({ length: CAP + 20 }, () => rawConnection(portOf(app)));
    await idleClosed;
    await sleep(300);
    const closedEarly = await Promise.all(
      flood.map((c) => Promise.race([c.closed.then(() => true), sleep(0).then(() => false)])),
    );
    // CAP silent connections hold every place; each one beyond them was closed as soon as it was accepted.
    expect(closedEarly.filter(Boolean).length).toBe(20);

    // A new connection (a kubelet's probe) is refused while the silent ones hold the places, and answered
    // once the headers timeout has closed them: a refusal lasts HEADERS_TIMEOUT_MS + 1 s at most.
    const started = Date.now();
    let status: number | string = 0;
    for (let i = 0; i < 60 && status !== 200; i++) {
      status = await probe(`${app.url}/health/live`);
      if (status !== 200) await sleep(100);
    }
    expect(status).toBe(200);
    expect(Date.now() - started).toBeLessThan(HEADERS_TIMEOUT_MS + 1500);
    await Promise.all(flood.map((c) => c.closed));
    const after = await metrics(app);
    expect(
      valueOf(after, 'terra_constellata_connections_refused_total') - refusedBefore,
    ).toBeGreaterThanOrEqual(20);
    expect(valueOf(after, 'terra_constellata_max_connections')).toBe(CAP);
    idle.destroy();
  });

  it('answers a body too slow for REQUEST_TIMEOUT_MS with exactly one 408 and a close, and moves no 5xx metric', async () => {
    const kept = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await metrics(app, kept);
    const slow = rawConnection(portOf(app));
    slow.socket.write(
      'POST /api/feedback/submit HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
    );
    // One byte every 200 ms: past REQUEST_DEADLINE_MS (1 s) and REQUEST_TIMEOUT_MS (2 s), never complete.
    const trickle = setInterval(() => slow.socket.writable && slow.socket.write(' '), 200);
    try {
      const ms = await Promise.race([slow.closed, sleep(8000).then(() => -1)]);
      expect(ms).toBeGreaterThan(1900);
      expect(ms).toBeLessThan(4000);
    } finally {
      clearInterval(trickle);
    }
    // Everything the server sent on the connection: one answer, the 408.
    expect(statusLines(slow.received())).toEqual(['HTTP/1.1 408']);
    expect(slow.received()).toMatch(/\r\nConnection: close\r\n/i);
    const after = await metrics(app, kept);
    const fivexx = (samples: ReturnType<typeof parseExposition>) =>
      samples
        .filter(
          (s) =>
            (s.name === 'terra_constellata_request_duration_seconds_count' &&
              s.labels.status_code?.startsWith('5')) ||
            (s.name === 'terra_constellata_errors_total' && s.labels.status_code?.startsWith('5')),
        )
        .reduce((sum, s) => sum + s.value, 0);
    expect(fivexx(after)).toBe(fivexx(before));
    expect(
      after
        .filter(
          (s) =>
            s.name === 'terra_constellata_request_duration_seconds_count' && s.labels.status_code === '503',
        )
        .reduce((sum, s) => sum + s.value, 0),
    ).toBe(0);
    expect(app.output()).not.toContain('REQUEST_DEADLINE_MS');
    kept.destroy();
  });
});

describe('SIGTERM with silent connections open (built app)', () => {
  it('exits within SHUTDOWN_GRACE_MS + 1 s although 50 connections never send a byte', async () => {
    const GRACE_MS = 1000;
    const app = await startBuiltApp({
      ENVIRONMENT: 'production',
      LOG_DIR: '',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      // The default headers timeout (10 s) is longer than the grace: the silent ones must not wait for it.
    });
    const silent: Socket[] = [];
    const closes: Promise<number>[] = [];
    for (let i = 0; i < 50; i++) {
      const c = rawConnection(portOf(app));
      silent.push(c.socket);
      closes.push(c.closed);
    }
    // An idle keep-alive connection too.
    const kept = new Agent({ keepAlive: true, maxSockets: 1 });
    expect(await probe(`${app.url}/health/live`, kept)).toBe(200);
    await sleep(200);
    const started = Date.now();
    const [code, signal] = await app.stop();
    const ms = Date.now() - started;
    expect([code, signal]).toEqual([0, null]);
    expect(ms).toBeLessThan(GRACE_MS + 1000);
    await Promise.all(closes);
    kept.destroy();
  }, 20_000);
});

describe('duplicate Authorization headers (built app)', () => {
  const TOKEN = 'read-token-0123456789';
  let app: BuiltApp;

  beforeAll(async () => {
    app = await startBuiltApp({
      ENVIRONMENT: 'production',
      LOG_DIR: '',
      METRICS_TOKEN: TOKEN,
      FEEDBACK_READ_TOKENS: TOKEN,
    });
  });
  afterAll(() => app.stop());

  const get = (path: string, authorization: string[]) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${app.url}${path}`, { agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      // An array sends one header line per value.
      if (authorization.length > 0) req.setHeader('authorization', authorization);
      req.on('error', reject);
      req.end();
    });

  it.each(['/metrics', '/api/feedback/recent'])(
    '%s answers 400 to two Authorization headers, whichever comes first, and 200 to the good one alone',
    async (path) => {
      expect((await get(path, [`Bearer ${TOKEN}`])).status).toBe(200);
      for (const pair of [
        [`Bearer ${TOKEN}`, 'Bearer wrong-token-000000000'],
        ['Bearer wrong-token-000000000', `Bearer ${TOKEN}`],
        [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`],
      ]) {
        const res = await get(path, pair);
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body)).toMatchObject({
          statusCode: 400,
          details: ['authorization: send one Authorization header; this request has several'],
        });
      }
    },
  );
});
