import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import request from 'supertest';
import { BatchedWriter, LogFaults, RotatingFileStream } from '@app/logging';
import { createTestApp } from './support/app';

const DAY_MS = 86_400_000;

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

  it('keeps answering when the log directory is removed, says so once, and recreates it', async () => {
    const t = await createTestApp({ ENVIRONMENT: 'production' });
    try {
      const server = t.app.getHttpServer();
      await request(server).post('/api/feedback/submit').send({ rating: 5 }).expect(201);
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
    } finally {
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
      rmSync(logDir, { force: true });
      await sleep(1300);
      for (let i = 0; i < 5; i++)
        await request(server).get('/').set('x-request-id', `fixed-${i}`).expect(200);
      await sleep(400);
      expect(readFileSync(join(logDir, 'terra_constellata.log'), 'utf8')).toContain('"request_id":"fixed-4"');
      expect(stderr.filter((line) => line.includes('writes work again')).length).toBeGreaterThanOrEqual(1);
      expect(stderr.length).toBeLessThanOrEqual(4);
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
    expect(lines[0]).toBe('log file /dev/full: writes failing (ENOSPC); lines are lost until it recovers\n');
    expect(writer.bytesWritten).toBe(0);
  });
});
