// npm run bench [-- --scenario overhead|scrape|writes|soak|knobs|logwriters|redaction|replicas|growth|learning|all] [--rounds N] [--duration S] [--knobs name,...] [--smoke]
// Every figure is measured in this run, on this machine, against a baseline measured beside it.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Client } from 'pg';
import { Counter, Histogram, Registry } from 'prom-client';
import { REQUEST_DURATION_BUCKETS, RequestMetrics } from '@app/metrics';
import { Balancer } from './balancer';
import { growth as growthOf } from './growth';
import { inProcessService, simulate, type Policy, type SimulationResult } from './learning';
import { compareLogWriters } from './log-writers';
import { compareRedaction } from './redaction';
import {
  cpuSeconds,
  DIST,
  freePort,
  load,
  loadWithCpu,
  MAIN,
  median,
  pairedRatio,
  percentile,
  printTable,
  ratio,
  startServer,
  writeResult,
  type LoadResult,
  type Server,
} from './lib';

const SERVERS = join(DIST, 'bench', 'servers');
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchOptions {
  rounds: number;
  duration: number;
  smoke: boolean;
  /** knobs: only the settings whose name contains one of these (the production default always runs). */
  knobs?: string[];
}

const machine = () => ({
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  memory_gb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
});

/** Scenario 1: the same trivial endpoint served six ways, measured in interleaved rounds. */
export async function overhead(options: BenchOptions) {
  const sink = await startServer('sentry-sink', join(SERVERS, 'sentry-sink.js'));
  const dsn = `http://bench@${new URL(sink.url).host}/1`;
  const full = { ENVIRONMENT: 'production', LOG_DIR: 'logs', SENTRY_DSN: dsn };
  const usualFastify: Record<string, string> = { SENTRY_DSN: dsn, BENCH_ADAPTER: 'fastify' };
  const variants: Array<{ key: string; name: string; script: string; env?: Record<string, string> }> = [
    { key: 'a', name: 'bare node:http', script: join(SERVERS, 'bare-http.js') },
    { key: 'b', name: 'bare Nest 11 + Fastify', script: join(SERVERS, 'bare-nest.js') },
    { key: 'c', name: 'full app, production, Sentry errors-only', script: MAIN, env: full },
    {
      key: 'd',
      name: 'full app, tracing 10 %',
      script: MAIN,
      env: { ...full, SENTRY_TRACES_SAMPLE_RATE: '0.1' },
    },
    {
      key: 'e',
      name: 'usual way: Express + library defaults',
      script: join(SERVERS, 'usual-way.js'),
      env: { SENTRY_DSN: dsn },
    },
    {
      key: 'f',
      name: 'usual way on Fastify: the same library defaults',
      script: join(SERVERS, 'usual-way.js'),
      env: usualFastify,
    },
  ].filter((v) => !options.smoke || ['a', 'b', 'c'].includes(v.key));
  const servers: Server[] = [];
  try {
    for (const v of variants) servers.push(await startServer(v.key, v.script, v.env));
    if (!options.smoke) for (const s of servers) await load({ url: `${s.url}/`, duration: 2 });
    const runs: Record<string, Array<LoadResult & { cpuUsPerRequest?: number }>> = Object.fromEntries(
      variants.map((v) => [v.key, []]),
    );
    for (let round = 0; round < options.rounds; round++) {
      // Rotate the order each round so no variant always runs first or last.
      const order = servers.map((_, i) => servers[(i + round) % servers.length]);
      for (const s of order)
        runs[s.name].push(await loadWithCpu(s, { url: `${s.url}/`, duration: options.duration }));
    }
    const summary = Object.fromEntries(
      variants.map((v) => {
        const r = runs[v.key];
        return [
          v.key,
          {
            name: v.name,
            rps: median(r.map((x) => x.rps)),
            p50_ms: median(r.map((x) => x.p50)),
            p99_ms: median(r.map((x) => x.p99)),
            cpu_us_per_request: median(r.map((x) => x.cpuUsPerRequest ?? NaN)),
            non2xx: r.reduce((n, x) => n + x.non2xx + x.errors, 0),
            runs: r,
          },
        ];
      }),
    );
    // Two views of each ratio, both from rounds measured side by side: requests per second, and capacity,
    // the inverse ratio of the server's CPU time per request (what the variant costs, whatever the load
    // generator sharing these two cores managed to send).
    const rpsOf = (key: string) => runs[key].map((x) => x.rps);
    const cpuOf = (key: string) => runs[key].map((x) => x.cpuUsPerRequest);
    const pairs = [
      ['c', 'b'],
      ['d', 'b'],
      ['c', 'e'],
      ['c', 'f'],
    ].filter(([x, y]) => summary[x] && summary[y]);
    const ratios: Record<string, number | undefined> = {};
    const capacity: Record<string, number | undefined> = {};
    for (const [x, y] of pairs) {
      ratios[`${x}/${y}`] = pairedRatio(rpsOf(x), rpsOf(y));
      capacity[`${x}/${y}`] = pairedRatio(cpuOf(y), cpuOf(x));
    }
    const p99Extra = Math.round((summary.c.p99_ms - summary.b.p99_ms) * 100) / 100;
    printTable(
      `Overhead: GET /, 64 connections, ${options.rounds} round(s) of ${options.duration} s, medians`,
      variants.map((v) => ({
        variant: `(${v.key}) ${v.name}`,
        'req/s': summary[v.key].rps,
        'p50 ms': summary[v.key].p50_ms,
        'p99 ms': summary[v.key].p99_ms,
        'CPU µs/req': summary[v.key].cpu_us_per_request,
        'errors/non-2xx': summary[v.key].non2xx,
      })),
    );
    const listed = (values: Record<string, number | undefined>) =>
      Object.entries(values)
        .map(([k, v]) => `${k} = ${v}`)
        .join(', ');
    process.stdout.write(
      `ratios (median of per-round ratios): req/s ${listed(ratios)}; CPU capacity ${listed(capacity)}; ` +
        `c p99 - b p99 = ${p99Extra} ms\n`,
    );
    const result = {
      scenario: 'overhead',
      at: new Date().toISOString(),
      machine: machine(),
      options,
      summary,
      ratios,
      cpu_capacity_ratios: capacity,
      c_p99_minus_b_p99_ms: p99Extra,
    };
    return { ...result, file: writeResult('overhead', result) };
  } finally {
    await Promise.all([...servers, sink].map((s) => s.stop()));
  }
}

/** The longest time the event loop did not turn while `work` ran, in ms. */
async function longestBlock(work: () => Promise<unknown>): Promise<number> {
  let longest = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 0);
  await sleep(5);
  longest = 0;
  last = performance.now();
  await work();
  await sleep(5);
  clearInterval(ticker);
  return Math.round(longest * 100) / 100;
}

/**
 * The same request series recorded in the service's RequestMetrics and in prom-client's Counter and
 * Histogram, rendered alternately in this process: the baseline for the scrape figures.
 */
async function renderComparison(combinations: number, renders: number) {
  const families = {
    requests: { name: 'bench_requests_total', help: 'Requests.' },
    duration: { name: 'bench_duration_seconds', help: 'Duration.', buckets: REQUEST_DURATION_BUCKETS },
    errors: { name: 'bench_errors_total', help: 'Errors.' },
    serverErrors: { name: 'bench_server_errors_total', help: 'Server errors.' },
    errorTypes: { name: 'bench_errors_by_type_total', help: 'Errors by type.' },
  };
  const ours = new RequestMetrics(families);
  const registry = new Registry();
  const routeLabels = ['method', 'route'];
  const requests = new Counter({ ...families.requests, labelNames: routeLabels, registers: [registry] });
  const duration = new Histogram({
    ...families.duration,
    labelNames: ['method', 'route', 'status_code'],
    registers: [registry],
  });
  const errors = new Counter({ ...families.errors, labelNames: routeLabels, registers: [registry] });
  const errorTypes = new Counter({
    ...families.errorTypes,
    labelNames: ['method', 'route', 'status_code', 'error_type'],
    registers: [registry],
  });
  const statuses = [200, 201, 400, 404, 500];
  for (let i = 0; i < combinations; i++) {
    const status = statuses[i % statuses.length];
    const route = `/api/bench/route-${Math.floor(i / statuses.length)}`;
    const errorType = status >= 400 ? 'HttpException' : null;
    const seconds = 0.01 * (i % 50);
    ours.record('GET', route, status, seconds, errorType);
    const labels = { method: 'GET', route, status_code: String(status) };
    requests.inc({ method: 'GET', route });
    errors.inc({ method: 'GET', route }, errorType ? 1 : 0);
    duration.observe(labels, seconds);
    if (errorType) errorTypes.inc({ ...labels, error_type: errorType });
  }
  const time = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };
  // What recording one request costs, on series that already exist (as on every request after the first).
  const children = new Map<string, { inc(): void; observe(v: number): void }>();
  const recordTheirs = (route: string, status: number, seconds: number) => {
    const key = `GET ${status} ${route}`;
    let child = children.get(key);
    if (!child) {
      const counter = requests.labels({ method: 'GET', route });
      const histogram = duration.labels({ method: 'GET', route, status_code: String(status) });
      child = { inc: () => counter.inc(), observe: (v) => histogram.observe(v) };
      children.set(key, child);
    }
    child.inc();
    child.observe(seconds);
  };
  const records = 200_000;
  const nsPerRecord = (record: (route: string, seconds: number) => void) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < records; i++) record(`/api/bench/route-${i % 3}`, 0.003);
    return Math.round(Number(process.hrtime.bigint() - started) / records);
  };
  const recordNs = { ours: [] as number[], prom_client: [] as number[] };
  for (let i = 0; i < 5; i++) {
    recordNs.ours.push(nsPerRecord((route, seconds) => ours.record('GET', route, 200, seconds, null)));
    recordNs.prom_client.push(nsPerRecord((route, seconds) => recordTheirs(route, 200, seconds)));
  }
  const oursMs: number[] = [];
  const theirsMs: number[] = [];
  for (let i = 0; i < renders; i++) {
    oursMs.push(await time(() => ours.renderSlices()));
    theirsMs.push(await time(() => registry.metrics()));
  }
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    ours_ms: round(median(oursMs)),
    prom_client_ms: round(median(theirsMs)),
    ours_longest_block_ms: await longestBlock(() => ours.renderSlices()),
    prom_client_longest_block_ms: await longestBlock(() => registry.metrics()),
    record_ns: { ours: median(recordNs.ours), prom_client: median(recordNs.prom_client) },
  };
}

/** Scenario 2: a scrape of a registry with ~10,000 series, and what it does to requests in flight. */
export async function scrape(options: BenchOptions) {
  const combinations = options.smoke ? 50 : 550;
  const server = await startServer('scrape', join(SERVERS, 'full-with-series.js'), {
    ENVIRONMENT: 'production',
    LOG_DIR: '',
    LOG_CONSOLE: 'off',
    SERIES: String(combinations),
  });
  try {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    const times: number[] = [];
    for (let i = 0; i < (options.smoke ? 5 : 200); i++) {
      const started = performance.now();
      await (await fetch(`${server.url}/metrics`)).text();
      times.push(performance.now() - started);
    }
    const render = await renderComparison(combinations, options.smoke ? 3 : 30);
    const quiet = await load({ url: `${server.url}/`, duration: options.duration, connections: 16 });
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        await (await fetch(`${server.url}/metrics`)).text();
        await sleep(100);
      }
    })();
    const busy = await load({ url: `${server.url}/`, duration: options.duration, connections: 16 });
    scraping = false;
    await scraper;
    const result = {
      scenario: 'scrape',
      at: new Date().toISOString(),
      machine: machine(),
      options,
      series,
      scrape_ms: {
        p50: Math.round(percentile(times, 50) * 10) / 10,
        p99: Math.round(percentile(times, 99) * 10) / 10,
      },
      render_in_process: render,
      requests_without_scrapes: { rps: quiet.rps, p99_ms: quiet.p99, max_ms: quiet.max },
      requests_while_scraping_every_100ms: { rps: busy.rps, p99_ms: busy.p99, max_ms: busy.max },
      added_delay_ms: { p99: busy.p99 - quiet.p99, max: busy.max - quiet.max },
    };
    printTable(`Scrape: ${series} series in the exposition`, [
      { measure: 'scrape time p50 / p99 (ms)', value: `${result.scrape_ms.p50} / ${result.scrape_ms.p99}` },
      {
        measure: 'request families rendered in-process, median ms: ours / prom-client',
        value: `${render.ours_ms} / ${render.prom_client_ms}`,
      },
      {
        measure: 'recording one request (ns): ours / prom-client',
        value: `${render.record_ns.ours} / ${render.record_ns.prom_client}`,
      },
      {
        measure: 'longest synchronous block of one render (ms): ours / prom-client',
        value: `${render.ours_longest_block_ms} / ${render.prom_client_longest_block_ms}`,
      },
      { measure: 'GET / p99 / max without scrapes (ms)', value: `${quiet.p99} / ${quiet.max}` },
      { measure: 'GET / p99 / max while scraping (ms)', value: `${busy.p99} / ${busy.max}` },
    ]);
    return { ...result, file: writeResult('scrape', result) };
  } finally {
    await server.stop();
  }
}

/** Runs `work` with the URL of a fresh database on the bench PostgreSQL, dropped afterwards whatever happens. */
async function withScratchDatabase<T>(name: string, work: (url: URL) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  try {
    return await work(url);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/** Scenario 3: feedback writes against PostgreSQL, beside pgbench inserting into the same table. */
export function writes(options: BenchOptions) {
  return withScratchDatabase(`tc_bench_${process.pid}`, (url) => writesOn(url, options));
}

async function writesOn(url: URL, options: BenchOptions) {
  const server = await startServer(
    'writes',
    MAIN,
    { ENVIRONMENT: 'production', LOG_DIR: 'logs', DATABASE_URL: url.toString() },
    '/health/ready',
  );
  const count = options.smoke ? 500 : 20_000;
  try {
    const result = await load({
      url: `${server.url}/api/feedback/submit`,
      amount: count,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        rating: 4,
        comment: 'Smooth rendering of the constellation map',
        category: 'performance',
        tags: ['bench'],
      }),
    });
    const db = new Client({ connectionString: url.toString() });
    await db.connect();
    const rows = Number((await db.query('SELECT count(*) AS n FROM feedback')).rows[0].n);
    const created = result.statusCodes['201'] ?? 0;
    const script = join(server.cwd, 'insert.sql');
    writeFileSync(
      script,
      "INSERT INTO feedback (id, target_type, rating, category, tags, sentiment, created_at) VALUES (gen_random_uuid()::text, 'general', 4, 'performance', '[\"bench\"]', 'positive', now() at time zone 'utc');\n",
    );
    // -l logs every transaction's latency (µs, third field), for pgbench's own percentiles beside ours.
    const logPrefix = join(server.cwd, 'pgbench');
    const pgbench = execFileSync(
      'pgbench',
      [
        '-n',
        '-c',
        '64',
        '-j',
        '2',
        '-T',
        String(options.smoke ? 2 : 10),
        '-l',
        `--log-prefix=${logPrefix}`,
        '-f',
        script,
        url.toString(),
      ],
      { encoding: 'utf8', cwd: server.cwd },
    );
    const latenciesMs = readdirSync(server.cwd)
      .filter((file) => file.startsWith('pgbench.'))
      .flatMap((file) =>
        readFileSync(join(server.cwd, file), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => Number(line.split(' ')[2]) / 1000),
      );
    const tps = Number(
      /tps = ([\d.]+) \(without initial connection time\)/.exec(pgbench)?.[1] ??
        /tps = ([\d.]+)/.exec(pgbench)?.[1],
    );
    await db.end();
    const summary = {
      scenario: 'writes',
      at: new Date().toISOString(),
      machine: machine(),
      options,
      submissions: count,
      responses_201: created,
      rows_in_table: rows,
      nothing_lost_nothing_doubled: created === rows && result.errors === 0,
      rps: result.rps,
      p50_ms: result.p50,
      p99_ms: result.p99,
      pgbench_insert_tps: Math.round(tps),
      pgbench_p50_ms: latenciesMs.length ? Math.round(percentile(latenciesMs, 50) * 10) / 10 : undefined,
      pgbench_p99_ms: latenciesMs.length ? Math.round(percentile(latenciesMs, 99) * 10) / 10 : undefined,
      ratio_to_pgbench: ratio(result.rps, tps),
    };
    printTable(`Feedback writes: ${count} POST /api/feedback/submit, 64 connections, PostgreSQL`, [
      { measure: 'req/s (p50 / p99 ms)', value: `${result.rps} (${result.p50} / ${result.p99})` },
      {
        measure: 'pgbench single-row insert tps, 64 clients (p50 / p99 ms)',
        value: `${Math.round(tps)} (${summary.pgbench_p50_ms} / ${summary.pgbench_p99_ms})`,
      },
      { measure: 'ratio to pgbench', value: summary.ratio_to_pgbench },
      { measure: '201 responses / rows stored', value: `${created} / ${rows}` },
    ]);
    return { ...summary, file: writeResult('writes', summary) };
  } finally {
    await server.stop();
  }
}

/** A redis-server of the bench's own on a free loopback port, without persistence; undefined when not installed. */
async function startRedis(): Promise<{ url: string; pid: number | undefined; stop(): void } | undefined> {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('connect', () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    await sleep(50);
  }
  return { url: `redis://127.0.0.1:${port}/0`, pid: child.pid, stop: () => child.kill('SIGKILL') };
}

/**
 * The storage the service uses (@nest-lab/throttler-storage-redis on ioredis, options as in the service) and
 * the in-memory one, driven directly: wall time of one update when they run one after another (the latency a
 * write gains), and CPU per update of this process and of redis-server with 64 in flight.
 */
async function directIncrements(url: string, redisPid: number | undefined, count: number) {
  const { Redis } = await import('ioredis');
  const { ThrottlerStorageRedisService } = await import('@nest-lab/throttler-storage-redis');
  const { ThrottlerStorageService } = await import('@nestjs/throttler');
  const client = new Redis(url, { enableOfflineQueue: true, commandTimeout: 500, maxRetriesPerRequest: 0 });
  const shared = new ThrottlerStorageRedisService(client);
  const local = new ThrottlerStorageService();
  const timeOf = async (storage: ThrottlerStorage) => {
    const started = performance.now();
    for (let i = 0; i < count; i++)
      await storage.increment(`bench:${i % 64}`, 60_000, 1e9, 60_000, 'default');
    return Math.round(((performance.now() - started) * 1000) / count);
  };
  try {
    await timeOf(shared); // warm-up: connection, script cache
    const memoryUs = await timeOf(local);
    const redisUs = await timeOf(shared);
    const cpuBefore = process.cpuUsage();
    const serverBefore = cpuSeconds(redisPid) ?? 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < count) await shared.increment(`bench:${next++ % 64}`, 60_000, 1e9, 60_000, 'default');
      }),
    );
    const cpu = process.cpuUsage(cpuBefore);
    return {
      memory_us: memoryUs,
      redis_us: redisUs,
      redis_client_cpu_us: Math.round((cpu.user + cpu.system) / count),
      redis_server_cpu_us: Math.round((((cpuSeconds(redisPid) ?? 0) - serverBefore) * 1e6) / count),
    };
  } finally {
    client.disconnect();
    local.onApplicationShutdown();
  }
}

/**
 * The cost per write of one budget across the replicas: three replicas with the write limit on (high enough
 * never to refuse) counting in their own memory, against three counting in one Redis, in interleaved rounds
 * whose order alternates; writes per second, p99, and the CPU per write of the three replicas (and of
 * redis-server).
 */
async function rateLimitStores(env: Record<string, string>, options: BenchOptions, body: string) {
  const redis = await startRedis();
  if (!redis) {
    process.stdout.write('replicas: redis-server not installed, rate-limit store comparison skipped\n');
    return undefined;
  }
  const direct = await directIncrements(redis.url, redis.pid, options.smoke ? 500 : 5000);
  const limited = { ...env, RATE_LIMIT_WRITES: '1000000' };
  const sets: Record<'memory' | 'redis', Server[]> = { memory: [], redis: [] };
  const balancers: Partial<Record<'memory' | 'redis', Balancer>> = {};
  const measured: Record<
    'memory' | 'redis',
    { rps: number[]; p99: number[]; cpu: number[]; redisCpu: number[] }
  > = {
    memory: { rps: [], p99: [], cpu: [], redisCpu: [] },
    redis: { rps: [], p99: [], cpu: [], redisCpu: [] },
  };
  const cpuOf = (servers: Server[]) => servers.reduce((sum, s) => sum + (cpuSeconds(s.child.pid) ?? 0), 0);
  try {
    for (const store of ['memory', 'redis'] as const) {
      for (let i = 1; i <= 3; i++)
        sets[store].push(
          await startServer(
            `${store}-${i}`,
            MAIN,
            { ...limited, RATE_LIMIT_STORE: store, ...(store === 'redis' ? { REDIS_URL: redis.url } : {}) },
            '/health/ready',
          ),
        );
      balancers[store] = await Balancer.start(sets[store].map((s) => s.url));
    }
    const amount = options.smoke ? 300 : 5000;
    for (let round = 0; round < Math.max(2, options.rounds); round++) {
      const order = round % 2 === 0 ? (['memory', 'redis'] as const) : (['redis', 'memory'] as const);
      for (const store of order) {
        const cpuBefore = cpuOf(sets[store]);
        const redisBefore = cpuSeconds(redis.pid) ?? 0;
        const write = await load({
          url: `${balancers[store]!.url}/api/feedback/submit`,
          amount,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const answered = Math.max(1, write.total);
        measured[store].rps.push(write.rps);
        measured[store].p99.push(write.p99);
        measured[store].cpu.push(((cpuOf(sets[store]) - cpuBefore) * 1e6) / answered);
        measured[store].redisCpu.push((((cpuSeconds(redis.pid) ?? 0) - redisBefore) * 1e6) / answered);
        if ((write.statusCodes['201'] ?? 0) !== write.total)
          throw new Error(`${store}: not every write was a 201: ${JSON.stringify(write.statusCodes)}`);
      }
    }
  } finally {
    for (const b of Object.values(balancers)) await b.stop();
    for (const server of [...sets.memory, ...sets.redis]) await server.stop();
    redis.stop();
  }
  const m = measured.memory;
  const r = measured.redis;
  const summary = {
    memory: { rps: median(m.rps), p99_ms: median(m.p99), cpu_us_per_write: Math.round(median(m.cpu)) },
    redis: {
      rps: median(r.rps),
      p99_ms: median(r.p99),
      cpu_us_per_write: Math.round(median(r.cpu)),
      redis_server_cpu_us_per_write: Math.round(median(r.redisCpu)),
    },
    direct,
    redis_over_memory_rps: pairedRatio(r.rps, m.rps),
    redis_over_memory_cpu_per_write: pairedRatio(r.cpu, m.cpu),
  };
  const rows = [
    {
      measure: 'One counter update, in this process: memory / Redis, µs of wall time (sequential)',
      value: `${direct.memory_us} / ${direct.redis_us}`,
    },
    {
      measure: 'One Redis counter update: client CPU µs + redis-server CPU µs (64 in flight)',
      value: `${direct.redis_client_cpu_us} + ${direct.redis_server_cpu_us}`,
    },
    {
      measure: '3 replicas, limit in memory: writes/s (p99 ms), replicas CPU µs/write',
      value: `${summary.memory.rps} (${summary.memory.p99_ms}), ${summary.memory.cpu_us_per_write}`,
    },
    {
      measure: '3 replicas, limit in Redis: writes/s (p99 ms), replicas + redis-server CPU µs/write',
      value: `${summary.redis.rps} (${summary.redis.p99_ms}), ${summary.redis.cpu_us_per_write} + ${summary.redis.redis_server_cpu_us_per_write}`,
    },
    {
      measure: 'Redis / memory: writes/s, replicas CPU per write (median of rounds)',
      value: `${summary.redis_over_memory_rps}, ${summary.redis_over_memory_cpu_per_write}`,
    },
  ];
  return { summary, rows };
}

/**
 * Scenario 7: the same load against one replica and against three on one PostgreSQL behind a round-robin TCP
 * balancer (as a Kubernetes Service spreads connections), on this machine's cores: what scales (the service's
 * own CPU work, up to the cores there are) and what the database limits (writes).
 */
export function replicas(options: BenchOptions) {
  return withScratchDatabase(`tc_bench_replicas_${process.pid}`, (url) => replicasOn(url, options));
}

async function replicasOn(url: URL, options: BenchOptions) {
  const env = { ENVIRONMENT: 'production', LOG_DIR: '', LOG_CONSOLE: 'off', DATABASE_URL: url.toString() };
  const duration = options.smoke ? 1 : options.duration;
  const body = JSON.stringify({ rating: 4, comment: 'replicas bench', tags: ['bench'] });
  const db = new Client({ connectionString: url.toString() });
  const rows: Array<Record<string, string | number | undefined>> = [];
  const results: Record<string, unknown> = {};
  try {
    await db.connect();
    const started: Server[] = [];
    for (const count of [1, 3]) {
      while (started.length < count)
        started.push(await startServer(`replica-${started.length + 1}`, MAIN, env, '/health/ready'));
      const balancer = await Balancer.start(started.slice(0, count).map((s) => s.url));
      try {
        const before = Number((await db.query('SELECT count(*) AS n FROM feedback')).rows[0].n);
        const read = await load({ url: `${balancer.url}/`, duration });
        // A fixed amount, not a duration: autocannon then waits for every answer, so 201s and rows compare.
        const write = await load({
          url: `${balancer.url}/api/feedback/submit`,
          amount: options.smoke ? 500 : 10_000,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const stored = Number((await db.query('SELECT count(*) AS n FROM feedback')).rows[0].n) - before;
        results[`replicas_${count}`] = {
          get_root: { rps: read.rps, p99_ms: read.p99 },
          post_submit: {
            rps: write.rps,
            p99_ms: write.p99,
            responses_201: write.statusCodes['201'] ?? 0,
            rows: stored,
          },
        };
        rows.push({
          measure: `${count} replica(s): GET / req/s (p99 ms)`,
          value: `${read.rps} (${read.p99})`,
        });
        rows.push({
          measure: `${count} replica(s): POST /api/feedback/submit req/s (p99 ms), 201s / rows`,
          value: `${write.rps} (${write.p99}), ${write.statusCodes['201'] ?? 0} / ${stored}`,
        });
      } finally {
        await balancer.stop();
      }
    }
    for (const server of started) await server.stop();
    const stores = await rateLimitStores(env, options, body);
    if (stores) {
      results.rate_limit_store = stores.summary;
      rows.push(...stores.rows);
    }
    const one = results.replicas_1 as { get_root: { rps: number }; post_submit: { rps: number } };
    const three = results.replicas_3 as { get_root: { rps: number }; post_submit: { rps: number } };
    const summary = {
      scenario: 'replicas',
      at: new Date().toISOString(),
      machine: machine(),
      options,
      ...results,
      scaling_3_over_1: {
        get_root: ratio(three.get_root.rps, one.get_root.rps),
        post_submit: ratio(three.post_submit.rps, one.post_submit.rps),
      },
    };
    rows.push({ measure: '3 / 1 replicas, GET /', value: summary.scaling_3_over_1.get_root });
    rows.push({
      measure: '3 / 1 replicas, POST /api/feedback/submit',
      value: summary.scaling_3_over_1.post_submit,
    });
    printTable(
      `Replicas on one PostgreSQL, ${cpus().length} cores, 64 connections through a round-robin balancer`,
      rows,
    );
    return { ...summary, file: writeResult('replicas', summary) };
  } finally {
    await db.end().catch(() => undefined);
  }
}

/**
 * Scenario 4: mixed traffic for a minute after a warm-up; memory, event-loop delay and errors. RSS follows V8's
 * heap sawtooth (tens of MB between collections), so growth compares the median of the first three samples with
 * the last three (one every 5 s) rather than two single points that land anywhere in a GC cycle.
 */
export async function soak(options: BenchOptions) {
  const server = await startServer('soak', MAIN, { ENVIRONMENT: 'production', LOG_DIR: 'logs' });
  const gauge = async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} ([\\d.e+]+)`, 'm').exec(text)?.[1]);
    return {
      rss: value('terra_constellata_memory_usage_bytes\\{type="rss"\\}'),
      heap: value('terra_constellata_memory_usage_bytes\\{type="heap_used"\\}'),
      lagP99: value('terra_constellata_nodejs_eventloop_lag_p99_seconds'),
    };
  };
  try {
    const json = { 'content-type': 'application/json' };
    const requests = [
      { method: 'GET' as const, path: '/' },
      {
        method: 'POST' as const,
        path: '/api/feedback/submit',
        headers: json,
        body: JSON.stringify({ rating: 3, tags: ['soak'] }),
      },
      { method: 'GET' as const, path: '/api/feedback/recent?limit=5' },
      {
        method: 'POST' as const,
        path: '/api/workflows',
        headers: json,
        body: JSON.stringify({ type: 'map_rendering' }),
      },
      { method: 'GET' as const, path: '/health/ready' },
      {
        method: 'POST' as const,
        path: '/api/artworks',
        headers: json,
        body: JSON.stringify({ style: 'celestial' }),
      },
    ];
    const warmUp = options.smoke ? 1 : 20;
    const chunks = options.smoke ? 3 : 12;
    await load({ url: server.url, duration: warmUp, connections: 16, requests });
    const samples = [await gauge()];
    const results: LoadResult[] = [];
    for (let i = 0; i < chunks; i++) {
      results.push(
        await load({ url: server.url, duration: options.smoke ? 1 : 5, connections: 16, requests }),
      );
      samples.push(await gauge());
    }
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
    const rss = samples.map((x) => x.rss);
    const early = median(rss.slice(0, 3));
    const late = median(rss.slice(-3));
    const total = results.reduce((n, r) => n + r.total, 0);
    const seconds = chunks * (options.smoke ? 1 : 5);
    const summary = {
      scenario: 'soak',
      at: new Date().toISOString(),
      machine: machine(),
      options,
      warm_up_s: warmUp,
      seconds,
      requests: total,
      rps: Math.round(total / seconds),
      p99_ms: Math.max(...results.map((r) => r.p99)),
      error_responses: results.reduce((n, r) => n + r.non2xx + r.errors, 0),
      rss_samples_mb: rss.map(mb),
      rss_growth: ratio(late - early, early),
      rss_start_mb: mb(rss[0]),
      rss_end_mb: mb(rss[rss.length - 1]),
      rss_peak_mb: mb(Math.max(...rss)),
      heap_start_mb: mb(samples[0].heap),
      heap_end_mb: mb(samples[samples.length - 1].heap),
      event_loop_lag_p99_ms: Math.round(samples[samples.length - 1].lagP99 * 1000 * 10) / 10,
    };
    printTable(`Soak: mixed traffic, 16 connections, ${seconds} s after ${warmUp} s of warm-up`, [
      { measure: 'requests (req/s, worst p99 ms)', value: `${total} (${summary.rps}, ${summary.p99_ms})` },
      { measure: 'error responses', value: summary.error_responses },
      {
        measure: 'RSS median of first 3 -> last 3 samples',
        value: `${mb(early)} MB -> ${mb(late)} MB (${Math.round(summary.rss_growth * 100)} %)`,
      },
      { measure: 'RSS samples (MB, every 5 s)', value: summary.rss_samples_mb.join(' ') },
      {
        measure: 'heap used start -> end',
        value: `${summary.heap_start_mb} MB -> ${summary.heap_end_mb} MB`,
      },
      { measure: 'event-loop delay p99', value: `${summary.event_loop_lag_p99_ms} ms` },
    ]);
    return { ...summary, file: writeResult('soak', summary) };
  } finally {
    await server.stop();
  }
}

/** The service's log file writer against pino-roll in a worker thread and SonicBoom: CPU per line, same run. */
export async function logwriters(options: BenchOptions) {
  const result = await compareLogWriters(options.smoke ? 20_000 : 200_000, options.smoke ? 1 : 5);
  printTable('Log file writers: whole-process CPU µs per request line, medians', [
    { writer: 'own (RotatingFileStream, batched, main thread)', 'CPU µs/line': result.own },
    { writer: 'pino-roll (pino transport, worker thread)', 'CPU µs/line': result.pinoRoll },
    { writer: 'SonicBoom, minLength 4096 (main thread, no rotation)', 'CPU µs/line': result.sonicBoom },
  ]);
  const summary = {
    scenario: 'logwriters',
    at: new Date().toISOString(),
    machine: machine(),
    options,
    ...result,
  };
  return { ...summary, file: writeResult('logwriters', summary) };
}

/** The price of redacting every pino line and every request line's path, against not doing it. */
export async function redaction(options: BenchOptions) {
  const r = compareRedaction(options.smoke ? 20_000 : 300_000, options.smoke ? 1 : 5);
  const us = (value: number) => Math.round(value * 1000) / 1000;
  printTable('Log redaction: CPU µs per line to a discarding destination, medians', [
    { variant: 'pino, no redaction', 'CPU µs/line': us(r.none), 'vs none': 1 },
    {
      variant: "pino + the service's hook (fields and free text)",
      'CPU µs/line': us(r.hook),
      'vs none': ratio(r.hook, r.none),
    },
    {
      variant: 'pino `redact`, 8 paths (fields only)',
      'CPU µs/line': us(r.pinoRedact),
      'vs none': ratio(r.pinoRedact, r.none),
    },
    { variant: 'request line path, as is', 'CPU µs/line': us(r.pathPlain), 'vs none': 1 },
    {
      variant: 'request line path, redactText',
      'CPU µs/line': us(r.pathRedacted),
      'vs none': ratio(r.pathRedacted, r.pathPlain),
    },
  ]);
  const summary = { scenario: 'redaction', at: new Date().toISOString(), machine: machine(), options, ...r };
  return { ...summary, file: writeResult('redaction', summary) };
}

/** What each operator setting costs, against the production default, in interleaved rounds. */
export async function knobs(options: BenchOptions) {
  const sink = await startServer('sentry-sink', join(SERVERS, 'sentry-sink.js'));
  const dsn = `http://bench@${new URL(sink.url).host}/1`;
  const base = { ENVIRONMENT: 'production', LOG_DIR: 'logs', SENTRY_DSN: dsn };
  const variants: Array<{ name: string; env: Record<string, string>; script?: string }> = [
    { name: 'production default (JSON console + files, Sentry errors-only)', env: base },
    {
      name: "one no-op Nest middleware (mounts Nest's middleware layer)",
      env: base,
      script: join(SERVERS, 'full-with-middleware.js'),
    },
    {
      name: 'no trace context (no trace ids in logs, traceresponse or exemplars)',
      env: base,
      script: join(SERVERS, 'full-without-trace.js'),
    },
    {
      name: 'request line through pino instead of the hand renderer',
      env: base,
      script: join(SERVERS, 'full-request-line-pino.js'),
    },
    {
      name: '@fastify/helmet per request beside the precomputed headers',
      env: base,
      script: join(SERVERS, 'full-fastify-helmet.js'),
    },
    { name: 'no request deadline (REQUEST_DEADLINE_MS=0)', env: { ...base, REQUEST_DEADLINE_MS: '0' } },
    { name: 'no log files (LOG_DIR=)', env: { ...base, LOG_DIR: '' } },
    { name: 'no console (LOG_CONSOLE=off)', env: { ...base, LOG_CONSOLE: 'off' } },
    { name: 'pretty console (LOG_CONSOLE=pretty)', env: { ...base, LOG_CONSOLE: 'pretty' } },
    { name: 'request lines off (LOG_LEVEL=warn)', env: { ...base, LOG_LEVEL: 'warn' } },
    { name: 'Sentry off (no SENTRY_DSN)', env: { ...base, SENTRY_DSN: '' } },
    { name: 'tracing 1 %', env: { ...base, SENTRY_TRACES_SAMPLE_RATE: '0.01' } },
    { name: 'tracing 10 %', env: { ...base, SENTRY_TRACES_SAMPLE_RATE: '0.1' } },
    { name: 'tracing 100 %', env: { ...base, SENTRY_TRACES_SAMPLE_RATE: '1' } },
  ];
  if (options.knobs)
    variants.splice(
      1,
      variants.length,
      ...variants.slice(1).filter((v) => options.knobs!.some((wanted) => v.name.includes(wanted))),
    );
  const servers: Server[] = [];
  try {
    for (const [i, v] of variants.entries())
      servers.push(await startServer(`k${i}`, v.script ?? MAIN, v.env));
    for (const s of servers) await load({ url: `${s.url}/`, duration: options.smoke ? 1 : 2 });
    const runs = servers.map(() => [] as Array<{ rps: number; cpu: number | undefined }>);
    for (let round = 0; round < options.rounds; round++) {
      for (let k = 0; k < servers.length; k++) {
        const i = (k + round) % servers.length;
        const r = await loadWithCpu(servers[i], { url: `${servers[i].url}/`, duration: options.duration });
        runs[i].push({ rps: r.rps, cpu: r.cpuUsPerRequest });
      }
    }
    const rows = variants.map((v, i) => ({
      setting: v.name,
      'req/s': median(runs[i].map((r) => r.rps)),
      'req/s vs default': pairedRatio(
        runs[i].map((r) => r.rps),
        runs[0].map((r) => r.rps),
      ),
      'CPU capacity vs default': pairedRatio(
        runs[0].map((r) => r.cpu),
        runs[i].map((r) => r.cpu),
      ),
    }));
    printTable(
      `Knobs: GET /, 64 connections, ${options.rounds} round(s) of ${options.duration} s, medians`,
      rows,
    );
    const result = { scenario: 'knobs', at: new Date().toISOString(), machine: machine(), options, rows };
    return { ...result, file: writeResult('knobs', result) };
  } finally {
    await Promise.all([...servers, sink].map((s) => s.stop()));
  }
}

/** Scenario 8: reads, the recompute, memory and probes as the table grows to 10M rows; what the roll-ups cost writes. */
export async function growth(options: BenchOptions) {
  // Three write rounds per variant at the largest size: each starts two servers on a table of millions of rows.
  const result = await growthOf({
    smoke: options.smoke,
    rounds: options.smoke ? 1 : Math.min(options.rounds, 3),
  });
  const summary = {
    scenario: 'growth',
    at: new Date().toISOString(),
    machine: machine(),
    options,
    ...result,
  };
  return { ...summary, file: writeResult('growth', summary) };
}

/**
 * Scenario 9: the recommendation policy against the greedy ranking it replaced, through the real service in
 * this process (embedded database), over seeds: regret, share of the best style at the end, flagged picks.
 */
export async function learning(options: BenchOptions) {
  const seeds = options.smoke ? 2 : 20;
  const workflows = options.smoke ? 300 : 2000;
  const runs: SimulationResult[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    for (const policy of ['thompson', 'greedy'] as Policy[]) {
      const service = await inProcessService({}, seed);
      try {
        runs.push(await simulate(service, { policy, seed, workflows, recomputeEvery: 50 }));
      } finally {
        await service.close();
      }
    }
    process.stdout.write(`  seed ${seed} of ${seeds} done\n`);
  }
  const summary = (policy: Policy) => {
    const of = runs.filter((r) => r.policy === policy);
    const stat = (pick: (r: SimulationResult) => number) => {
      const values = of.map(pick);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      return `${Math.round(mean * 1000) / 1000} ± ${Math.round(sd * 1000) / 1000} (${Math.min(...values)}-${Math.max(...values)})`;
    };
    return {
      policy,
      seeds: of.length,
      workflows,
      regret: stat((r) => r.regret),
      best_share_last_500: stat((r) => r.best_share_last_500),
      flagged_recommended: stat((r) => r.flagged_recommended),
    };
  };
  const rows = [summary('thompson'), summary('greedy')];
  const regretRatio = median(
    Array.from({ length: seeds }, (_, i) => {
      const t = runs.find((r) => r.seed === i + 1 && r.policy === 'thompson')!;
      const g = runs.find((r) => r.seed === i + 1 && r.policy === 'greedy')!;
      return t.regret / g.regret;
    }),
  );
  printTable(
    `Learning: ${workflows} artwork workflows per run, recompute every 50, mean ± sd (min-max)`,
    rows,
  );
  process.stdout.write(
    `median per-seed regret ratio thompson / greedy: ${Math.round(regretRatio * 1000) / 1000}\n`,
  );
  const result = {
    scenario: 'learning',
    at: new Date().toISOString(),
    machine: machine(),
    options,
    rows,
    regretRatio,
    runs,
  };
  return { ...result, file: writeResult('learning', result) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const smoke = args.includes('--smoke');
  const options: BenchOptions = {
    smoke,
    rounds: Number(arg('rounds', smoke ? '1' : '8')),
    duration: Number(arg('duration', smoke ? '1' : '2')),
    knobs: args.includes('--knobs') ? arg('knobs', '').split(',') : undefined,
  };
  const scenario = arg('scenario', 'all');
  const wanted =
    scenario === 'all'
      ? [
          'overhead',
          'scrape',
          'writes',
          'soak',
          'knobs',
          'logwriters',
          'redaction',
          'replicas',
          'growth',
          'learning',
        ]
      : scenario.split(',');
  const scenarios = {
    overhead,
    scrape,
    writes,
    soak,
    knobs,
    logwriters,
    redaction,
    replicas,
    growth,
    learning,
  } as Record<string, (o: BenchOptions) => Promise<{ file: string }>>;
  for (const name of wanted) {
    if (!scenarios[name])
      throw new Error(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(', ')}`);
    process.stdout.write(`\n== ${name} ==\n`);
    const { file } = await scenarios[name](options);
    process.stdout.write(`written: ${file}\n`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
