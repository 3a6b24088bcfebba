import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';

// Runs compiled (dist/bench) or from source under Jest (bench/); the servers always run from dist/.
const ROOT = __dirname.split(sep).includes('dist') ? join(__dirname, '..', '..') : join(__dirname, '..');
export const DIST = join(ROOT, 'dist');
export const MAIN = join(DIST, 'apps', 'api', 'src', 'main.js');
export const RESULTS = join(ROOT, 'bench', 'results');

export interface Server {
  name: string;
  url: string;
  cwd: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a server script on a free loopback port; its stdout goes nowhere, as in production to a collector. */
export async function startServer(
  name: string,
  script: string,
  env: Record<string, string> = {},
  readyPath = '/',
): Promise<Server> {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), `tc-bench-${name.replace(/\W+/g, '-')}-`));
  let stderr = '';
  const child = spawn(process.execPath, [script], {
    cwd,
    // No write rate limit: the load comes from one address and the bench measures throughput.
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(port),
      SHUTDOWN_GRACE_MS: '0',
      RATE_LIMIT_WRITES: '0',
      RATE_LIMIT_READS: '0',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${stderr}`);
    if (
      await fetch(`${url}${readyPath}`).then(
        (r) => r.status < 500,
        () => false,
      )
    )
      break;
    if (i > 300) throw new Error(`${name} did not answer within 30 s: ${stderr}`);
    await sleep(100);
  }
  return {
    name,
    url,
    cwd,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  total: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
}

/** autocannon against one URL, on loopback only. Either a duration or an amount bounds it. */
export async function load(options: autocannon.Options): Promise<LoadResult> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(String(options.url)))
    throw new Error('load only targets loopback');
  const result = await autocannon({ connections: 64, ...options });
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [
      code,
      (stat as { count: number }).count,
    ]),
  );
  return {
    rps: Math.round(result.requests.total / result.duration),
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A markdown table; a value that could not be measured (undefined, NaN) shows as n/a. */
export function printTable(title: string, rows: Array<Record<string, string | number | undefined>>): void {
  const cell = (value: string | number | undefined) =>
    value === undefined || (typeof value === 'number' && Number.isNaN(value)) ? 'n/a' : String(value);
  const columns = Object.keys(rows[0] ?? {});
  const width = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(width[i])).join(' | ')} |`;
  process.stdout.write(`\n${title}\n${line(columns)}\n${line(width.map((w) => '-'.repeat(w)))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => cell(row[c])))}\n`);
}

export function writeResult(scenario: string, data: unknown): string {
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/**
 * CPU seconds (user + system) a process has used, from /proc; undefined where /proc is not readable. The
 * kernel counts in clock ticks of 10 ms (CLK_TCK 100 on Linux), so a measured run should last seconds.
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Load plus the server's CPU time per answered request, in microseconds. */
export async function loadWithCpu(
  server: Server,
  options: autocannon.Options,
): Promise<LoadResult & { cpuUsPerRequest: number | undefined }> {
  const before = cpuSeconds(server.child.pid);
  const result = await load(options);
  const after = cpuSeconds(server.child.pid);
  const cpuUsPerRequest =
    before === undefined || after === undefined || result.total === 0
      ? undefined
      : Math.round(((after - before) * 1e6) / result.total);
  return { ...result, cpuUsPerRequest };
}

/**
 * The median over rounds of a/b measured in the same round. This machine's speed drifts by 2x within a
 * minute; a ratio of two medians mixes rounds run at different speeds, a per-round ratio does not.
 */
export function pairedRatio(a: Array<number | undefined>, b: Array<number | undefined>): number | undefined {
  const ratios = a.flatMap((x, i) => (x === undefined || !b[i] ? [] : [x / b[i]!]));
  return ratios.length ? ratio(median(ratios), 1) : undefined;
}

export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}
