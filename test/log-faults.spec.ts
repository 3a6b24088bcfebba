import { spawnSync } from 'node:child_process';
import {
  accessSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import request from 'supertest';
import { BatchedWriter, LogFaults, RotatingFileStream } from '@app/logging';
import { createTestApp } from './support/app';

const DAY_MS = 86_400_000;

/** The whole content of an open descriptor, even of a file that has been unlinked since. */
function readDescriptor(fd: number): string {
  const buffer = Buffer.alloc(fstatSync(fd).size);
  let at = 0;
  while (at < buffer.length) at += readSync(fd, buffer, at, buffer.length - at, at);
  return buffer.toString('utf8');
}

const lineCount = (text: string) => text.split('\n').filter(Boolean).length;

/** Polls until `check` holds; bounded. */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  for (let waited = 0; !check(); waited += 50) {
    if (waited > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

/** The value of one series of the app's /metrics, by name and destination label. */
async function lossMetric(server: Parameters<typeof request>[0], name: string, destination: string) {
  const text = (await request(server).get('/metrics').expect(200)).text;
  const match = new RegExp(`^terra_constellata_${name}\\{destination="${destination}"\\} (\\d+)$`, 'm').exec(
    text,
  );
  return match ? Number(match[1]) : undefined;
}

describe('RotatingFileStream, for any sequence of writes, size limits and day changes', () => {
  it('keeps the newest LOG_MAX_FILES rotated files, none empty, each of one day, and loses only the oldest lines', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 200, max: 3000 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(
          fc.oneof(
            { weight: 9, arbitrary: fc.integer({ min: 10, max: 400 }).map((length) => ({ length })) },
            { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((days) => ({ days })) },
          ),
          { minLength: 1, maxLength: 120 },
        ),
        async (maxBytes, maxFiles, steps) => {
          const dir = mkdtempSync(join(tmpdir(), 'tc-rotate-prop-'));
          try {
            let now = Date.parse('2026-11-27T12:00:00.000Z');
            const path = join(dir, 'terra_constellata.log');
            const stream = new RotatingFileStream({
              path,
              maxBytes,
              maxFiles,
              now: () => now,
              checkEveryMs: 0,
            });
            let written = 0;
            for (const step of steps) {
              if ('days' in step) {
                now += step.days * DAY_MS;
                continue;
              }
              const day = new Date(now).toISOString().slice(0, 10);
              const line = `${JSON.stringify({ i: written, day, pad: 'x'.repeat(step.length) })}\n`;
              stream.write(line);
              written++;
            }
            await stream.end();

            const names = readdirSync(dir);
            const rotated = names.filter((name) => name !== 'terra_constellata.log');
            expect(rotated.length).toBeLessThanOrEqual(maxFiles);
            const seen: number[] = [];
            for (const name of names) {
              const content = readFileSync(join(dir, name), 'utf8');
              if (name !== 'terra_constellata.log') expect(statSync(join(dir, name)).size).toBeGreaterThan(0);
              const lines = content
                .split('\n')
                .filter(Boolean)
                .map((l) => JSON.parse(l) as { i: number; day: string });
              const fileDay = /\.(\d{4}-\d{2}-\d{2})\.\d+$/.exec(name)?.[1];
              for (const line of lines) {
                seen.push(line.i);
                if (fileDay) expect(line.day).toBe(fileDay);
              }
            }
            // What is kept is the newest lines, without a gap: only the oldest were pruned.
            seen.sort((a, b) => a - b);
            const oldest = written - seen.length;
            expect(seen).toEqual(Array.from({ length: seen.length }, (_, k) => oldest + k));
            // With room for every rotation, nothing is lost.
            if (rotated.length < maxFiles) expect(seen.length).toBe(written);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});

describe('log files that fail while the service runs', () => {
  let stderr: string[];
  let spy: jest.SpyInstance;

  beforeEach(() => {
    stderr = [];
    const write = process.stderr.write.bind(process.stderr);
    spy = jest
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
        if (String(chunk).startsWith('log file ')) {
          stderr.push(String(chunk));
          return true;
        }
        return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      });
  });

  afterEach(() => spy.mockRestore());

  it('keeps answering when the log directory is removed, says so once, recreates it, and counts the lines lost', async () => {
    const t = await createTestApp({ ENVIRONMENT: 'production' });
    let held: number | undefined;
    try {
      const server = t.app.getHttpServer();
      const file = join(t.config.logDir, 'terra_constellata.log');
      expect(await lossMetric(server, 'log_lines_dropped_total', 'terra_constellata.log')).toBe(0);
      await request(server)
        .post('/api/feedback/submit')
        .send({ rating: 5 })
        .set('x-request-id', 'before')
        .expect(201);
      await until(
        () => readFileSync(file, 'utf8').includes('"request_id":"before"'),
        'the first line written',
      );
      // The test keeps the file's inode open: after the removal it can still read what the service wrote there.
      held = openSync(file, 'r');
      const before = readDescriptor(held);
      rmSync(t.config.logDir, { recursive: true, force: true });
      for (let i = 0; i < 50; i++) {
        await request(server)
          .post('/api/feedback/submit')
          .send({ rating: 4, comment: `after ${i}` })
          .expect(201);
      }
      await request(server).get('/health').expect(200);
      // The file check runs every second: the directory and both files come back.
      await sleep(1500);
      for (let i = 0; i < 5; i++) {
        await request(server).get('/').set('x-request-id', `back-${i}`).expect(200);
      }
      await sleep(400);
      expect(readdirSync(t.config.logDir).sort()).toEqual(['errors.log', 'terra_constellata.log']);
      const lines = readFileSync(join(t.config.logDir, 'terra_constellata.log'), 'utf8');
      for (let i = 0; i < 5; i++) expect(lines).toContain(`"request_id":"back-${i}"`);
      // One line per file when it went missing; nothing per request.
      expect(stderr.length).toBeGreaterThan(0);
      expect(stderr.length).toBeLessThanOrEqual(4);
      for (const line of stderr) expect(line).toMatch(/^log file .*: writes (failing \(ENOENT\)|work again)/);
      // What went into the removed file after the removal is lost, and nothing more than the file held is
      // counted: the count lies between the two.
      const removed = readDescriptor(held);
      const recovered = stderr.find((line) => line.startsWith(`log file ${file}: writes work again`));
      const [, lostLinesSaid, lostBytesSaid] =
        /\((\d+) lines, (\d+) bytes lost meanwhile\)/.exec(recovered ?? '') ?? [];
      const lostLines = lineCount(removed) - lineCount(before);
      const lostBytes = Buffer.byteLength(removed) - Buffer.byteLength(before);
      // 50 submissions and a /health, each with its request line.
      expect(lostLines).toBeGreaterThanOrEqual(51);
      expect(Number(lostLinesSaid)).toBeGreaterThanOrEqual(lostLines);
      expect(Number(lostLinesSaid)).toBeLessThanOrEqual(lineCount(removed));
      expect(Number(lostBytesSaid)).toBeGreaterThanOrEqual(lostBytes);
      expect(Number(lostBytesSaid)).toBeLessThanOrEqual(Buffer.byteLength(removed));
      // The metrics say the same.
      expect(await lossMetric(server, 'log_lines_dropped_total', 'terra_constellata.log')).toBe(
        Number(lostLinesSaid),
      );
      expect(await lossMetric(server, 'log_bytes_dropped_total', 'terra_constellata.log')).toBe(
        Number(lostBytesSaid),
      );
      expect(
        await lossMetric(server, 'log_write_failures_total', 'terra_constellata.log'),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      if (held !== undefined) closeSync(held);
      await t.close();
    }
  }, 30_000);

  it('keeps answering when the directory cannot be written, with one line when it fails and one when it recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-logfault-'));
    const logDir = join(dir, 'logs');
    const t = await createTestApp({ ENVIRONMENT: 'production', LOG_DIR: logDir });
    try {
      const server = t.app.getHttpServer();
      // Root ignores permissions, so the directory is replaced by a file: every open fails (ENOTDIR), as a
      // chmod 000 does for a non-root user (EACCES).
      rmSync(logDir, { recursive: true, force: true });
      writeFileSync(logDir, 'not a directory');
      for (let i = 0; i < 30; i++) await request(server).get('/').expect(200);
      await sleep(1300);
      for (let i = 0; i < 30; i++) await request(server).get('/').expect(200);
      const failing = stderr.filter((line) => line.includes('writes failing'));
      expect(failing.length).toBeGreaterThanOrEqual(1);
      expect(failing.length).toBeLessThanOrEqual(2);
      // The code the system gave, not a made-up ENOENT; and no "work again" while every write still fails.
      for (const line of failing) expect(line).toContain('(ENOTDIR)');
      expect(stderr.filter((line) => line.includes('writes work again'))).toEqual([]);
      rmSync(logDir, { force: true });
      await sleep(1300);
      for (let i = 0; i < 5; i++)
        await request(server).get('/').set('x-request-id', `fixed-${i}`).expect(200);
      await sleep(400);
      expect(readFileSync(join(logDir, 'terra_constellata.log'), 'utf8')).toContain('"request_id":"fixed-4"');
      const recovered = stderr.filter((line) => line.includes('writes work again'));
      expect(recovered.length).toBeGreaterThanOrEqual(1);
      expect(stderr.length).toBeLessThanOrEqual(4);
      // The 60 requests sent while the directory was a file, each with its request line, are counted lost.
      const main = recovered.find((line) => line.includes('terra_constellata.log'))!;
      const lost = Number(/\((\d+) lines, \d+ bytes lost/.exec(main)?.[1]);
      expect(lost).toBeGreaterThanOrEqual(60);
      expect(await lossMetric(server, 'log_lines_dropped_total', 'terra_constellata.log')).toBe(lost);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('says once that a full disk loses lines, however many writes fail', async () => {
    const lines: string[] = [];
    const faults = new LogFaults('/dev/full', (line) => lines.push(line));
    // /dev/full answers every write with ENOSPC.
    const writer = new BatchedWriter(openSync('/dev/full', 'w'), {
      minLength: 100,
      flushMs: 10,
      closeFd: true,
      faults,
    });
    for (let i = 0; i < 2000; i++) writer.write(`${JSON.stringify({ i, pad: 'y'.repeat(50) })}\n`);
    await writer.end();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      'log file /dev/full: writes failing (ENOSPC); lines are lost until a write succeeds\n',
    );
    expect(writer.bytesWritten).toBe(0);
    // Every line is counted lost once, with its bytes.
    expect(faults.loss()).toEqual({
      destination: '/dev/full',
      failures: expect.any(Number),
      lines: 2000,
      bytes: Array.from({ length: 2000 }, (_, i) => `${JSON.stringify({ i, pad: 'y'.repeat(50) })}\n`).join(
        '',
      ).length,
    });
    expect(faults.loss().failures).toBeGreaterThanOrEqual(1);
  });
});

// Root writes through any permission: the permission error is produced by a writer running as `nobody`, which
// needs a Node binary outside /root (the Debian one) and a root test process to hand it the directory.
const NOBODY = 65534;
const nodeForNobody = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => {
  try {
    accessSync(path, constants.X_OK);
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
});
if (!nodeForNobody)
  process.stderr.write('[tests] not root or no /usr/bin/node: the EACCES log-fault test did not run\n');
const describeAsNobody = nodeForNobody ? describe : describe.skip;

describeAsNobody('a log directory that stops being writable for the service user (EACCES)', () => {
  it('names EACCES, counts every line refused, and says "work again" only after a write succeeded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-eacces-'));
    chownSync(dir, NOBODY, NOBODY);
    const built = join(__dirname, '..', 'dist', 'libs', 'logging', 'src', 'rotating-file.stream.js');
    expect(existsSync(built)).toBe(true);
    // Phases: 10 lines written; directory chmod 000 (stat and open answer EACCES); 20 lines refused; directory
    // back to 755; lines until the file is open again. Each stderr report is kept with the phase it came in.
    const script = `
      const { chmodSync, readFileSync } = require('node:fs');
      const { RotatingFileStream } = require(${JSON.stringify(built)});
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      const logs = ${JSON.stringify(join(dir, 'logs'))};
      let phase = 'writing';
      const reports = [];
      const stream = new RotatingFileStream({ path: logs + '/app.log', maxBytes: 1e9, maxFiles: 2, checkEveryMs: 50,
        report: (line) => reports.push({ phase, line }) });
      (async () => {
        for (let i = 0; i < 10; i++) stream.write(JSON.stringify({ i }) + '\\n');
        await sleep(600);
        chmodSync(logs, 0);
        phase = 'denied';
        await sleep(200);
        for (let i = 10; i < 30; i++) stream.write(JSON.stringify({ i }) + '\\n');
        await sleep(200);
        chmodSync(logs, 0o755);
        phase = 'allowed';
        let i = 30;
        while (!reports.some((r) => r.line.includes('work again')) && i < 100) {
          stream.write(JSON.stringify({ i: i++ }) + '\\n');
          await sleep(100);
        }
        await stream.end();
        process.stdout.write(JSON.stringify({ reports, loss: stream.loss(), sent: i,
          file: readFileSync(logs + '/app.log', 'utf8') }));
      })();`;
    const result = spawnSync(nodeForNobody!, ['-e', script], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: dir,
      encoding: 'utf8',
      timeout: 20_000,
    });
    try {
      expect(result.stderr).toBe('');
      const out = JSON.parse(result.stdout) as {
        reports: Array<{ phase: string; line: string }>;
        loss: { lines: number; bytes: number; failures: number };
        sent: number;
        file: string;
      };
      const path = join(dir, 'logs', 'app.log');
      expect(out.reports[0]).toEqual({
        phase: 'denied',
        line: `log file ${path}: writes failing (EACCES); lines are lost until a write succeeds\n`,
      });
      expect(out.reports).toHaveLength(2);
      expect(out.reports[1].phase).toBe('allowed');
      // The lines 10-29 were refused; the lines kept in the file are the others, each once.
      const kept = out.file
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { i: number }).i);
      const lost = Array.from({ length: out.sent }, (_, i) => i).filter((i) => !kept.includes(i));
      expect(lost.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, k) => 10 + k));
      expect(out.loss.lines).toBe(lost.length);
      const lostBytes = lost.reduce((sum, i) => sum + Buffer.byteLength(`${JSON.stringify({ i })}\n`), 0);
      expect(out.loss.bytes).toBe(lostBytes);
      expect(out.reports[1].line).toBe(
        `log file ${path}: writes work again (${lost.length} lines, ${lostBytes} bytes lost meanwhile)\n`,
      );
      expect(kept).toEqual([...new Set(kept)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
