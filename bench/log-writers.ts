// Same-run comparison of the service's own log file writer (RotatingFileStream over BatchedWriter) with
// pino-roll, the maintained roller, used as pino recommends it (a transport in a worker thread), and with
// SonicBoom (pino.destination) buffering to minLength in the main thread, the maintained batching writer without
// rotation. All write the same request lines; the cost is the whole process's CPU time (a worker's included)
// per line, which is what a request pays on a 2-core machine.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { RotatingFileStream } from '@app/logging';

const LINE = `${JSON.stringify({
  level: 'INFO',
  time: '2026-11-30T07:00:00.000Z',
  service: 'terra_constellata',
  environment: 'production',
  version: '1.0.0',
  request_id: '0b6f0f3e-8a8f-4a8e-9a56-1f1e3c5b7d9a',
  method: 'GET',
  route: '/',
  path: '/',
  status_code: 200,
  duration_ms: 0.42,
  msg: 'API Request',
})}\n`;

interface Writer {
  write(line: string): unknown;
  end(): Promise<void>;
}

async function measure(name: string, make: (dir: string) => Writer, lines: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), `tc-logbench-${name}-`));
  try {
    const writer = make(dir);
    const before = process.cpuUsage();
    for (let i = 0; i < lines; i++) writer.write(LINE);
    // pino's transport worker is unref'd: without a handle of ours the process could end while it drains.
    const keepAlive = setInterval(() => undefined, 1000);
    await writer.end().finally(() => clearInterval(keepAlive));
    const used = process.cpuUsage(before);
    const written = readdirSync(dir)
      .map((file) => readFileSync(join(dir, file), 'utf8').split('\n').length - 1)
      .reduce((a, b) => a + b, 0);
    if (written !== lines) throw new Error(`${name}: ${written} of ${lines} lines on disk`);
    return (used.user + used.system) / lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const own = (dir: string): Writer => {
  const stream = new RotatingFileStream({
    path: join(dir, 'terra_constellata.log'),
    maxBytes: 50 * 1024 * 1024,
    maxFiles: 14,
    checkEveryMs: 0,
  });
  return { write: (line) => stream.write(line), end: () => stream.end() };
};

const pinoRoll = (dir: string): Writer => {
  const transport = pino.transport({
    target: 'pino-roll',
    options: {
      file: join(dir, 'terra_constellata.log'),
      size: '50m',
      frequency: 'daily',
      mkdir: true,
      limit: { count: 14 },
    },
  });
  return {
    write: (line) => transport.write(line),
    end: () =>
      new Promise<void>((resolve) => {
        transport.once('close', () => resolve());
        transport.end();
      }),
  };
};

const sonicBoom = (dir: string): Writer => {
  // pino's own destination, buffering like the service's batched writer: 4 kB or the event-loop turn's lines.
  const destination = pino.destination({
    dest: join(dir, 'terra_constellata.log'),
    minLength: 4096,
    sync: false,
  });
  return {
    write: (line) => destination.write(line),
    end: () =>
      new Promise<void>((resolve) => {
        destination.once('close', () => resolve());
        destination.end();
      }),
  };
};

const WRITERS = { own, pinoRoll, sonicBoom } as const;
type WriterName = keyof typeof WRITERS;

/** CPU µs per line for each writer, over rounds rotating the order; medians. */
export async function compareLogWriters(lines = 200_000, rounds = 5): Promise<Record<WriterName, number>> {
  const names = Object.keys(WRITERS) as WriterName[];
  const results = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<
    WriterName,
    number[]
  >;
  for (const name of names) await measure('warmup', WRITERS[name], 20_000);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length];
      results[name].push(await measure(name, WRITERS[name], lines));
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return Object.fromEntries(names.map((name) => [name, median(results[name])])) as Record<WriterName, number>;
}
