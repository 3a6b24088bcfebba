import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { fillStatement } from './fill';
import {
  DIST,
  load,
  MAIN,
  median,
  pairedRatio,
  percentile,
  printTable,
  startServer,
  type Server,
} from './lib';

const REBUILD = join(DIST, 'apps', 'api', 'src', 'rebuild-aggregates.js');
const WITHOUT_ROLLUPS = join(DIST, 'bench', 'servers', 'without-rollups.js');
const FILL_SLICE = 250_000;

export interface GrowthOptions {
  smoke: boolean;
  rounds: number;
}

interface Engine {
  name: 'PostgreSQL' | 'SQLite';
  sizes: number[];
  env: Record<string, string>;
  /** Runs one statement against the scratch database, outside the service. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

const progress = (line: string) =>
  process.stdout.write(`  ${new Date().toISOString().slice(11, 19)} ${line}\n`);

/** Fills the table from `from` rows to `to` rows by SQL, with a progress line per slice. */
async function fill(engine: Engine, from: number, to: number): Promise<void> {
  const started = Date.now();
  for (let start = from + 1; start <= to; start += FILL_SLICE) {
    const count = Math.min(FILL_SLICE, to - start + 1);
    await engine.exec(fillStatement(engine.name === 'PostgreSQL', start, count, Date.now()));
    progress(
      `${engine.name}: filled ${(start + count - 1).toLocaleString('en')} of ${to.toLocaleString('en')} rows (${Math.round((Date.now() - started) / 1000)} s)`,
    );
  }
}

function rss(server: Server): number {
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

async function metric(server: Server, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** Sequential requests, one at a time: the latency a dashboard sees. */
async function sequential(url: string, amount: number) {
  const result = await load({ url, amount, connections: 1 });
  return { p50: result.p50, p99: result.p99, non2xx: result.non2xx };
}

const READ_TOKEN = 'growth-bench-read-token-0123456789';

async function measure(engine: Engine, rows: number) {
  // No stored insights: the service recomputes at start, and the histogram times it.
  await engine.exec('DELETE FROM feedback_insights');
  const server = await startServer(
    `growth-${engine.name}`,
    MAIN,
    {
      ENVIRONMENT: 'production',
      LOG_DIR: '',
      LOG_CONSOLE: 'off',
      FEEDBACK_READ_TOKENS: READ_TOKEN,
      ...engine.env,
    },
    '/health/ready',
  );
  const idleRss = rss(server);
  try {
    // The startup recompute ran once the service answered ready; its duration is in the histogram.
    let recomputeMs: number | undefined;
    for (let i = 0; i < 600 && recomputeMs === undefined; i++) {
      const count = await metric(server, 'terra_constellata_learning_loop_duration_seconds_count');
      if (count && count > 0) {
        const sum = await metric(server, 'terra_constellata_learning_loop_duration_seconds_sum');
        recomputeMs = Math.round((sum! / count) * 1000);
      } else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const since = new Date(Date.now() - 7 * 86_400_000).toISOString();
    const stats = `${server.url}/api/feedback/stats`;
    const unfiltered = await sequential(stats, 200);
    const byType = await sequential(`${stats}?target_type=artwork`, 200);
    const lastWeek = await sequential(`${stats}?since=${encodeURIComponent(since)}`, 200);
    const concurrent = await Promise.all(
      Array.from({ length: 200 }, () =>
        fetch(stats).then(
          (r) => r.status,
          () => 0,
        ),
      ),
    );
    const statuses: Record<string, number> = {};
    for (const status of concurrent) statuses[status] = (statuses[status] ?? 0) + 1;
    // 50 cursor pages of /recent, newest first.
    const pages: number[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      const res = await fetch(
        `${server.url}/api/feedback/recent?limit=50${cursor ? `&cursor=${cursor}` : ''}`,
      );
      const body = (await res.json()) as { next_cursor: string | null };
      pages.push(performance.now() - started);
      cursor = body.next_cursor;
    }
    // /health/live while statistics are read back to back: does one read hold the event loop?
    const [, live] = await Promise.all([
      load({ url: `${stats}?since=${encodeURIComponent(since)}`, duration: 3, connections: 1 }),
      load({ url: `${server.url}/health/live`, duration: 3, connections: 1 }),
    ]);
    progress(`${engine.name}: measured at ${rows.toLocaleString('en')} rows`);
    return {
      engine: engine.name,
      rows,
      stats_p50_p99_ms: `${unfiltered.p50} / ${unfiltered.p99}`,
      target_type_p50_p99_ms: `${byType.p50} / ${byType.p99}`,
      since_7d_p50_p99_ms: `${lastWeek.p50} / ${lastWeek.p99}`,
      concurrent_200_statuses: Object.entries(statuses)
        .map(([s, n]) => `${n}x${s}`)
        .join(' '),
      recent_page_p50_p99_ms: `${Math.round(percentile(pages, 50))} / ${Math.round(percentile(pages, 99))}`,
      recompute_ms: recomputeMs,
      rss_idle_mb: idleRss,
      rss_mb: rss(server),
      live_p99_during_stats_ms: live.p99,
    };
  } finally {
    await server.stop();
  }
}

/** Submissions per second with and without the roll-up upserts, in interleaved rounds on the same table. */
async function writeCost(engine: Engine, rounds: number, seconds: number) {
  const body = JSON.stringify({ rating: 4, comment: 'growth bench', tags: ['bench'] });
  const perRound: Array<{ with: number; without: number }> = [];
  for (let round = 0; round < rounds; round++) {
    const result: Record<string, number> = {};
    // The order rotates, so neither variant always runs on the warmer table.
    for (const variant of round % 2 ? ['without', 'with'] : ['with', 'without']) {
      const server = await startServer(
        `growth-writes-${variant}`,
        variant === 'with' ? MAIN : WITHOUT_ROLLUPS,
        {
          ENVIRONMENT: 'production',
          LOG_DIR: '',
          LOG_CONSOLE: 'off',
          ...engine.env,
        },
        '/health/ready',
      );
      try {
        // A fixed duration: autocannon ends a run of a given amount only at its next one-second tick, which
        // rounds a run of a few seconds to whole seconds.
        const run = await load({
          url: `${server.url}/api/feedback/artwork/art-${round}`,
          duration: seconds,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-user-id': 'growth' },
          body,
        });
        if (run.non2xx > 0 || run.errors > 0)
          throw new Error(`${variant}: ${run.non2xx} non-2xx, ${run.errors} errors`);
        result[variant] = run.rps;
      } finally {
        await server.stop();
      }
    }
    perRound.push({ with: result.with, without: result.without });
    progress(
      `${engine.name}: write round ${round + 1}: ${result.with} req/s with roll-ups, ${result.without} without`,
    );
  }
  return {
    with_rps: median(perRound.map((r) => r.with)),
    without_rps: median(perRound.map((r) => r.without)),
    ratio: pairedRatio(
      perRound.map((r) => r.with),
      perRound.map((r) => r.without),
    ),
  };
}

async function postgresEngine(smoke: boolean): Promise<Engine> {
  const base = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  const name = `tc_bench_growth_${process.pid}`;
  const admin = new Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const db = new Client({ connectionString: url.toString() });
  await db.connect();
  return {
    name: 'PostgreSQL',
    sizes: smoke ? [10_000] : [100_000, 1_000_000, 10_000_000],
    env: { DATABASE_URL: url.toString() },
    exec: async (sql) => void (await db.query(sql)),
    close: async () => {
      await db.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

function sqliteEngine(smoke: boolean): Engine {
  const dir = mkdtempSync(join(tmpdir(), 'tc-bench-growth-'));
  const path = join(dir, 'growth.sqlite');
  let db: Database.Database | undefined;
  return {
    name: 'SQLite',
    sizes: smoke ? [10_000] : [100_000, 1_000_000],
    env: { SQLITE_PATH: path },
    exec: async (sql) => {
      db ??= new Database(path);
      db.exec(sql);
    },
    close: async () => {
      db?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Scenario 8: statistics, recent pages, the learning loop's recompute, memory and probe latency as the table
 * grows (PostgreSQL to 10M rows, SQLite to 1M, spread over 90 days, 50,000 targets, 100,000 users), and the
 * write throughput the roll-ups cost.
 */
export async function growth(options: GrowthOptions) {
  const rows: Array<Record<string, string | number | undefined>> = [];
  const writes: Array<Record<string, string | number | undefined>> = [];
  for (const make of [() => postgresEngine(options.smoke), async () => sqliteEngine(options.smoke)]) {
    const engine = await make();
    try {
      // An empty start creates the schema (migrations); the rows are then written by SQL, past the service.
      await (
        await startServer(
          `growth-migrate-${engine.name}`,
          MAIN,
          { LOG_DIR: '', LOG_CONSOLE: 'off', ...engine.env },
          '/health/ready',
        )
      ).stop();
      let stored = 0;
      for (const size of engine.sizes) {
        await fill(engine, stored, size);
        stored = size;
        const started = Date.now();
        execFileSync(process.execPath, [REBUILD], {
          env: { PATH: process.env.PATH, ...engine.env },
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        progress(
          `${engine.name}: roll-ups rebuilt from ${size.toLocaleString('en')} rows in ${Math.round((Date.now() - started) / 1000)} s`,
        );
        rows.push(await measure(engine, size));
      }
      const cost = await writeCost(engine, options.smoke ? 1 : options.rounds, options.smoke ? 1 : 8);
      writes.push({ engine: engine.name, rows: stored, ...cost });
    } finally {
      await engine.close();
    }
  }
  printTable('Growth: the same reads as the table grows', rows);
  printTable('Growth: submissions per second with and without the roll-ups (64 connections)', writes);
  return { rows, writes };
}
