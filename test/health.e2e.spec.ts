import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Controller, Get } from '@nestjs/common';
import request from 'supertest';
import { SystemStats } from '@app/health';
import { createTestApp, type TestApp } from './support/app';
import { parseExposition, valueOf } from './support/exposition';
import { describePostgres, type TestDatabase } from './support/postgres';
import { databaseBehindProxy, type TcpProxy } from './support/tcp-proxy';

async function databaseUp(t: TestApp): Promise<number> {
  const res = await request(t.app.getHttpServer()).get('/metrics').expect(200);
  return valueOf(parseExposition(res.text), 'terra_constellata_database_up');
}

function errorLines(t: TestApp): Array<Record<string, unknown>> {
  const file = join(t.config.logDir, 'errors.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('health on the embedded database', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ RELEASE_VERSION: '3.1.4' });
  });

  afterAll(() => t.close());

  it('answers GET /health with the documented JSON (status, timestamp, version, uptime, system, checks)', async () => {
    const res = await request(t.app.getHttpServer()).get('/health').expect(200);
    expect(res.body).toEqual({
      status: 'healthy',
      timestamp: expect.any(String),
      version: '3.1.4',
      uptime: expect.any(Number),
      system: {
        cpu_percent: expect.any(Number),
        memory_percent: expect.any(Number),
        disk_usage: expect.any(Number),
        // This machine has no cgroup v2 with limits: the figures are against the host's cores and memory.
        limits: {
          cpu_source: 'host',
          cpu_cores: availableParallelism(),
          memory_source: 'host',
          memory_bytes: totalmem(),
        },
      },
      checks: {
        database: { status: 'up', latency_ms: expect.any(Number) },
        disk: { status: 'up', used_percent: res.body.system.disk_usage },
        memory: { status: 'up', used_percent: res.body.system.memory_percent },
      },
    });
    expect(new Date(res.body.timestamp).toISOString()).toBe(res.body.timestamp);
    expect(res.body.uptime).toBeGreaterThan(0);
    const { cpu_percent, memory_percent, disk_usage } = res.body.system as Record<string, number>;
    for (const value of [cpu_percent, memory_percent, disk_usage]) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(100);
    }
  });

  it('answers the Kubernetes probes', async () => {
    const live = await request(t.app.getHttpServer()).get('/health/live').expect(200);
    expect(live.body.status).toBe('ok');
    const ready = await request(t.app.getHttpServer()).get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({
      status: 'ok',
      info: { database: { status: 'up' }, shutdown: { status: 'up' } },
    });
  });

  it('exports database_up = 1 on a scrape, without any probe having run first', async () => {
    const fresh = await createTestApp();
    try {
      expect(await databaseUp(fresh)).toBe(1);
    } finally {
      await fresh.close();
    }
  });
});

describe('health in a container (cgroup v2 limits)', () => {
  it('reports CPU and memory against the cgroup limits, says so, and exports the same figures', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tc-cgroup-'));
    const files = {
      'cpu.max': '25000 100000',
      'cpu.stat': 'usage_usec 1000',
      'memory.max': String(512 * 1024 ** 2),
      'memory.current': String(480 * 1024 ** 2),
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), `${text}\n`);
    const t = await createTestApp({ CGROUP_ROOT: root });
    try {
      const res = await request(t.app.getHttpServer()).get('/health').expect(200);
      // 480 of 512 MiB is 93.8 %: the container is nearly out of memory, whatever the host has free.
      expect(res.body).toMatchObject({
        status: 'degraded',
        system: {
          memory_percent: 93.8,
          limits: {
            cpu_source: 'cgroup',
            cpu_cores: 0.25,
            memory_source: 'cgroup',
            memory_bytes: 512 * 1024 ** 2,
          },
        },
        checks: { memory: { status: 'down', used_percent: 93.8 } },
      });
      const samples = parseExposition(
        (await request(t.app.getHttpServer()).get('/metrics').expect(200)).text,
      );
      expect(valueOf(samples, 'terra_constellata_memory_usage_percent', { source: 'cgroup' })).toBe(93.8);
      expect(valueOf(samples, 'terra_constellata_memory_limit_bytes', { source: 'cgroup' })).toBe(
        512 * 1024 ** 2,
      );
      expect(
        valueOf(samples, 'terra_constellata_cpu_usage_percent', { source: 'cgroup' }),
      ).toBeGreaterThanOrEqual(0);
    } finally {
      await t.close();
    }
  });
});

describe('health when memory or disk is nearly full', () => {
  it('is degraded (200), not unhealthy', async () => {
    const resources = {
      cpuSource: 'cgroup',
      cpuLimitCores: 0.5,
      memorySource: 'cgroup',
      cpuPercent: () => 12.5,
      memoryPercent: () => 95.2,
      memoryLimitBytes: () => 512 * 1024 ** 2,
    };
    const stats = { resources, diskUsagePercent: async () => 40 };
    const t = await createTestApp({}, { overrides: [{ provide: SystemStats, useValue: stats }] });
    try {
      const res = await request(t.app.getHttpServer()).get('/health').expect(200);
      expect(res.body).toMatchObject({
        status: 'degraded',
        system: {
          cpu_percent: 12.5,
          memory_percent: 95.2,
          disk_usage: 40,
          limits: {
            cpu_source: 'cgroup',
            cpu_cores: 0.5,
            memory_source: 'cgroup',
            memory_bytes: 512 * 1024 ** 2,
          },
        },
        checks: {
          database: { status: 'up' },
          memory: { status: 'down', used_percent: 95.2 },
          disk: { status: 'up' },
        },
      });
      await request(t.app.getHttpServer()).get('/health/ready').expect(200);
    } finally {
      await t.close();
    }
  });
});

describePostgres('health against PostgreSQL behind a proxy the test controls', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let url: string;
  let t: TestApp;

  beforeAll(async () => {
    ({ db, proxy, url } = await databaseBehindProxy());
    t = await createTestApp({
      DATABASE_URL: url,
      HEALTH_CACHE_MS: '0',
      HEALTH_TIMEOUT_MS: '500',
    });
  });

  afterAll(async () => {
    await t.close();
    await proxy.stop();
    await db.drop();
  });

  it('is healthy and ready while the database answers', async () => {
    const res = await request(t.app.getHttpServer()).get('/health').expect(200);
    expect(res.body.checks.database.status).toBe('up');
    await request(t.app.getHttpServer()).get('/health/ready').expect(200);
    expect(await databaseUp(t)).toBe(1);
  });

  it('is unhealthy and not ready when the database is gone, while liveness stays 200', async () => {
    await proxy.cut();
    const health = await request(t.app.getHttpServer()).get('/health').expect(503);
    expect(health.body).toMatchObject({ status: 'unhealthy', checks: { database: { status: 'down' } } });
    expect(health.body.checks.database.error).toEqual(expect.any(String));
    const ready = await request(t.app.getHttpServer()).get('/health/ready').expect(503);
    expect(ready.body).toMatchObject({ status: 'error', error: { database: { status: 'down' } } });
    await request(t.app.getHttpServer()).get('/health/live').expect(200);
    expect(await databaseUp(t)).toBe(0);
  });

  it('logs the outage once, not once per probe', async () => {
    for (let i = 0; i < 5; i++) await request(t.app.getHttpServer()).get('/health/ready').expect(503);
    await sleep(400); // log lines are written in batches every 250 ms
    const failures = errorLines(t).filter((line) => line.error_type === 'DatabaseDown');
    expect(failures).toHaveLength(1);
    // The probes' own request lines are at debug, so none of them reached errors.log either.
    expect(errorLines(t).filter((line) => line.route === '/health/ready')).toEqual([]);
  });

  it('answers within its timeout when the database hangs', async () => {
    await proxy.blackhole();
    const started = Date.now();
    const ready = await request(t.app.getHttpServer()).get('/health/ready').expect(503);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(JSON.stringify(ready.body)).toContain('no answer within 500 ms');
  });

  it('is ready again once the database is back, without a restart', async () => {
    await proxy.restore();
    let status = 0;
    for (let attempt = 0; attempt < 40 && status !== 200; attempt++) {
      status = (await request(t.app.getHttpServer()).get('/health/ready')).status;
      if (status !== 200) await sleep(250);
    }
    expect(status).toBe(200);
    await request(t.app.getHttpServer()).get('/health').expect(200);
    expect(await databaseUp(t)).toBe(1);
  });
});

@Controller('slow-probe')
class SlowController {
  @Get()
  async slow(): Promise<{ done: boolean }> {
    await sleep(1000);
    return { done: true };
  }
}

describe('graceful shutdown', () => {
  it('turns readiness to 503 at once, keeps serving through the grace period, and finishes in-flight requests', async () => {
    const t = await createTestApp({ SHUTDOWN_GRACE_MS: '1500' }, { controllers: [SlowController] });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);

    const slow = fetch(`${url}/slow-probe`);
    await sleep(100);
    const closing = t.close();
    await sleep(100);

    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      error: { shutdown: { status: 'down', message: 'shutting down' } },
    });
    expect((await fetch(`${url}/health/live`)).status).toBe(200);

    const slowResponse = await slow;
    expect(slowResponse.status).toBe(200);
    expect(await slowResponse.json()).toEqual({ done: true });
    await closing;
    await expect(fetch(`${url}/health/live`)).rejects.toThrow();
  });
});

describePostgres('health in production tells a probe the kind of failure, not the internals', () => {
  it('says unreachable or timeout, never a host, port or driver message, and logs the detail', async () => {
    const { db, proxy, url } = await databaseBehindProxy();
    const t = await createTestApp({
      ENVIRONMENT: 'production',
      DATABASE_URL: url,
      HEALTH_CACHE_MS: '0',
      HEALTH_TIMEOUT_MS: '500',
    });
    try {
      const server = t.app.getHttpServer();
      await proxy.cut();
      const health = await request(server).get('/health').expect(503);
      expect(health.body.checks.database.error).toBe('unreachable');
      const ready = await request(server).get('/health/ready').expect(503);
      expect(ready.body.error.database.message).toBe('unreachable');
      for (const body of [health.text, ready.text]) {
        expect(body).not.toContain('127.0.0.1');
        expect(body).not.toContain(String(proxy.port));
        expect(body).not.toMatch(/ECONNREFUSED|connect/i);
      }
      await proxy.blackhole();
      const slow = await request(server).get('/health/ready').expect(503);
      expect(slow.body.error.database.message).toBe('timeout');
      await sleep(400); // log lines are written in batches every 250 ms
      expect(JSON.stringify(errorLines(t))).toMatch(
        /Database check failed: .*(ECONNREFUSED|connect|terminated)/i,
      );
    } finally {
      await t.close();
      await proxy.stop();
      await db.drop();
    }
  }, 30_000);
});
