import { readdir, unlink } from 'node:fs/promises';
import { openSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ensureDirectory } from '@app/common';
import { BatchedWriter } from './batched-writer';

export interface RotatingFileOptions {
  path: string;
  maxBytes: number;
  maxFiles: number;
  /** For tests: the clock that decides the day boundary. */
  now?: () => number;
}

const DAY_MS = 86_400_000;

/**
 * An append-only log file that is renamed to `<name>.<YYYY-MM-DD>.<n>` when it reaches maxBytes or when the UTC
 * day changes, keeping the newest maxFiles renamed files. Writes are asynchronous and batched. Files are opened
 * synchronously, so nothing races an open; at rotation the old writer drains into the renamed file while a new
 * one takes the path, so no line is lost.
 */
export class RotatingFileStream {
  private writer: BatchedWriter;
  private drained: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private size: number;
  private dayEndsAt: number;
  private closed = false;
  private pruning: Promise<void> = Promise.resolve();

  constructor(private readonly options: RotatingFileOptions) {
    this.now = options.now ?? Date.now;
    this.size = Math.max(0, fileSize(options.path));
    this.dayEndsAt = nextUtcMidnight(this.now());
    ensureDirectory(dirname(options.path));
    this.writer = open(options.path);
  }

  write(line: string): boolean {
    if (this.closed) return false;
    // Characters, not bytes: close enough for a rotation threshold, and free on the hot path.
    if ((this.size > 0 && this.size + line.length > this.options.maxBytes) || this.now() >= this.dayEndsAt) {
      this.rotate();
    }
    this.size += line.length;
    return this.writer.write(line);
  }

  /** Renames the current file and starts a new one; a no-op for an empty file. */
  rotate(): void {
    const closingDay = new Date(this.dayEndsAt - DAY_MS).toISOString().slice(0, 10);
    this.dayEndsAt = nextUtcMidnight(this.now());
    if (this.size === 0) return;
    const target = this.freeName(closingDay);
    renameSync(this.options.path, target);
    this.size = 0;
    const old = this.writer;
    this.writer = open(this.options.path);
    this.drained = Promise.all([this.drained, endOf(old)]);
    this.pruning = this.pruning.then(() => this.prune()).catch(() => undefined);
  }

  flushSync(): void {
    if (!this.closed) this.writer.flushSync();
  }

  /** Writes what is buffered and closes the file; later writes are dropped. */
  async end(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.drained, endOf(this.writer)]);
    await this.pruning;
  }

  private freeName(day: string): string {
    for (let n = 1; ; n++) {
      const candidate = `${this.options.path}.${day}.${n}`;
      if (fileSize(candidate) < 0) return candidate;
    }
  }

  private async prune(): Promise<void> {
    const dir = dirname(this.options.path);
    const prefix = `${basename(this.options.path)}.`;
    // "<name>.<YYYY-MM-DD>.<n>" sorts oldest to newest by date, then number.
    const rotated = (await readdir(dir))
      .filter((name) => name.startsWith(prefix))
      .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
    await Promise.all(rotated.slice(this.options.maxFiles).map((name) => unlink(join(dir, name))));
  }
}

/**
 * Lines are batched: system calls are the dearest part of a request here (the response's own write is about
 * 40 % of its CPU), so a file is written once per 8 kB of lines or every 250 ms, not once per line.
 */
export const WRITE_BATCH = { minLength: 8192, flushMs: 250 } as const;

function open(path: string): BatchedWriter {
  return new BatchedWriter(openSync(path, 'a'), { ...WRITE_BATCH, closeFd: true });
}

function endOf(writer: BatchedWriter): Promise<void> {
  return writer.end();
}

function nextUtcMidnight(now: number): number {
  return (Math.floor(now / DAY_MS) + 1) * DAY_MS;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}
