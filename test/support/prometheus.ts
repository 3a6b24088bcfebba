import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';

export type PromSample = { metric: Record<string, string>; value: [number, string] };
export type PromExemplars = Array<{
  seriesLabels: Record<string, string>;
  exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }>;
}>;

export interface TestPrometheus {
  url: string;
  query(expr: string): Promise<PromSample[]>;
  exemplars(expr: string, sinceSeconds: number): Promise<PromExemplars>;
  /** Resolves once a scrape that started after `since` (epoch seconds) is stored. */
  scrapedAfter(since: number): Promise<void>;
  log(): string;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A real Prometheus scraping one service every second with exemplar storage on, as the compose stack runs it;
 * its data lives in a temporary directory. Killed by stop(), or with the test process.
 */
export async function startPrometheus(binary: string, target: string): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'tc-prometheus-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: 'terra_constellata', static_configs: [{ targets: [target] }] }],
    }),
  );
  let log = '';
  const child: ChildProcess = spawn(binary, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--enable-feature=exemplar-storage',
  ]);
  child.stderr!.on('data', (chunk) => (log += chunk));
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; error?: string; data: T };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
    return body.data;
  };
  const query = async (expr: string) =>
    (await api<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;
  const scrapedAfter = async (since: number) => {
    let last = 0;
    for (let i = 0; i < 300; i++) {
      const targets = await api<{ activeTargets: Array<{ lastScrape: string; health: string }> }>(
        '/api/v1/targets',
      ).catch(() => ({ activeTargets: [] }));
      const [target] = targets.activeTargets;
      last = target?.health === 'up' ? Date.parse(target.lastScrape) / 1000 : 0;
      if (last > since) return;
      await sleep(100);
    }
    throw new Error(`no successful scrape after ${since} within 30 s (last ${last}):\n${log.slice(-2000)}`);
  };
  return {
    url,
    query,
    exemplars: (expr, sinceSeconds) =>
      api<PromExemplars>(
        `/api/v1/query_exemplars?query=${encodeURIComponent(expr)}&start=${sinceSeconds}&end=${Date.now() / 1000 + 60}`,
      ),
    scrapedAfter,
    log: () => log,
    stop: () => child.kill('SIGKILL'),
  };
}
