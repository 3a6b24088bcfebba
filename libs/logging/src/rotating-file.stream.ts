import { readdir, unlink } from 'node:fs/promises';
import { openSync, readdirSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ensureDirectory } from '@app/common';
import { BatchedWriter } from './batched-writer';
import { LogFaults } from './log-faults';

export interface RotatingFileOptions {
  path: string;
  maxBytes: number;
  maxFiles: number;
  /** For tests: the clock that decides the day boundary. */
  now?: () => number;
  /** For tests: where failure and recovery lines go (stderr by default). */
  report?: (line: string) => void;
  /** How often the file is checked for still being there (ms); 0 turns the check off. */
  checkEveryMs?: number;
}

const DAY_MS = 86_400_000;

/** Rotated files are named `<name>.<YYYY-MM-DD>.<n>`; this orders them oldest first by day, then number. */
export function rotatedOrder(prefix: string): (a: string, b: string) => number {
  const key = (name: string) => {
    const [day, n] = name.slice(prefix.length).split('.');
    return { day: day ?? '', n: Number(n ?? 0) };
  };
  return (a, b) => {
    const x = key(a);
    const y = key(b);
    return x.day === y.day ? x.n - y.n : x.day < y.day ? -1 : 1;
  };
}

/**
 * An append-only log file that is renamed to `<name>.<YYYY-MM-DD>.<n>` when it reaches maxBytes or when the UTC
 * day changes, keeping the newest maxFiles renamed files. Writes are asynchronous and batched. A write never
 * throws and never waits: when the directory vanishes, fills up or stops being writable, lines are dropped and
 * counted, stderr gets one line when that starts and one when it ends, and the file (and its directory) is
 * recreated as soon as that is possible. The caller, a request among others, never sees a file-system error.
 */
export class RotatingFileStream {
  private writer: BatchedWriter | undefined;
  private drained: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private readonly faults: LogFaults;
  private readonly prefix: string;
  private size: number;
  private dayEndsAt: number;
  private closed = false;
  private pruning: Promise<void> = Promise.resolve();
  private readonly checker: NodeJS.Timeout | undefined;
  private reopenAfter = 0;

  constructor(private readonly options: RotatingFileOptions) {
    this.now = options.now ?? Date.now;
    this.faults = new LogFaults(options.path, options.report);
    this.prefix = `${basename(options.path)}.`;
    this.size = Math.max(0, fileSize(options.path));
    this.dayEndsAt = nextUtcMidnight(this.now());
    // At start a failure stops the start (the factory checks the directory); later ones are survived.
    ensureDirectory(dirname(options.path));
    this.writer = this.open();
    const every = options.checkEveryMs ?? 1000;
    if (every > 0) {
      this.checker = setInterval(() => this.checkStillThere(), every);
      this.checker.unref();
    }
  }

  write(line: string): boolean {
    if (this.closed) return false;
    try {
      // Characters, not bytes: close enough for a rotation threshold, and free on the hot path.
      if (
        (this.size > 0 && this.size + line.length > this.options.maxBytes) ||
        this.now() >= this.dayEndsAt
      ) {
        this.rotate();
      }
      if (!this.writer) this.reopen();
      if (!this.writer) {
        this.faults.failed(new Error('log file not open'), line.length);
        return false;
      }
      this.size += line.length;
      return this.writer.write(line);
    } catch (error) {
      this.faults.failed(error, line.length);
      return false;
    }
  }

  /** Renames the current file and starts a new one; a no-op for an empty file. */
  rotate(): void {
    const closingDay = new Date(this.dayEndsAt - DAY_MS).toISOString().slice(0, 10);
    this.dayEndsAt = nextUtcMidnight(this.now());
    // Nothing reached the file, or nothing will while writes fail (a full disk): no empty rotated files.
    const writer = this.writer;
    const empty =
      !writer ||
      this.size === 0 ||
      (writer.bytesWritten === 0 &&
        fileSize(this.options.path) <= 0 &&
        (!writer.hasPending || this.faults.isFailing));
    if (empty) {
      this.size = Math.max(0, fileSize(this.options.path));
      return;
    }
    try {
      renameSync(this.options.path, this.nextName(closingDay));
    } catch (error) {
      // The file or its directory is gone: start a new one where it was.
      this.faults.failed(error);
      this.replaceWriter();
      return;
    }
    this.replaceWriter();
    this.pruning = this.pruning.then(() => this.prune()).catch(() => undefined);
  }

  flushSync(): void {
    if (!this.closed) this.writer?.flushSync();
  }

  /** Writes what is buffered and closes the file; later writes are dropped. */
  async end(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.checker) clearInterval(this.checker);
    await Promise.all([this.drained, this.writer ? this.writer.end() : undefined]);
    await this.pruning;
  }

  // A rotated name after every existing one of that day: numbers are never reused, so the highest is the newest.
  private nextName(day: string): string {
    const dayPrefix = `${this.prefix}${day}.`;
    let highest = 0;
    for (const name of readdirSync(dirname(this.options.path))) {
      if (name.startsWith(dayPrefix)) highest = Math.max(highest, Number(name.slice(dayPrefix.length)) || 0);
    }
    return `${this.options.path}.${day}.${highest + 1}`;
  }

  private async prune(): Promise<void> {
    const dir = dirname(this.options.path);
    const rotated = (await readdir(dir))
      .filter((name) => name.startsWith(this.prefix))
      .sort(rotatedOrder(this.prefix));
    const excess = rotated.slice(0, Math.max(0, rotated.length - this.options.maxFiles));
    await Promise.all(excess.map((name) => unlink(join(dir, name)).catch(() => undefined)));
  }

  // The directory may have been removed or replaced while the service runs: lines would go to a deleted file.
  private checkStillThere(): void {
    if (this.closed || !this.writer) return;
    if (fileSize(this.options.path) < 0) {
      this.faults.failed(Object.assign(new Error('log file removed'), { code: 'ENOENT' }));
      this.replaceWriter();
    }
  }

  private replaceWriter(): void {
    const old = this.writer;
    this.writer = undefined;
    this.size = 0;
    if (old) this.drained = Promise.all([this.drained, old.end()]);
    this.reopen();
  }

  // After a failure, tried again at most once a second: a directory that cannot be recreated must not cost
  // every line a system call.
  private reopen(): void {
    if (Date.now() < this.reopenAfter) return;
    try {
      ensureDirectory(dirname(this.options.path));
      this.writer = this.open();
      this.size = Math.max(0, fileSize(this.options.path));
    } catch (error) {
      this.reopenAfter = Date.now() + 1000;
      this.faults.failed(error);
    }
  }

  private open(): BatchedWriter {
    return new BatchedWriter(openSync(this.options.path, 'a'), {
      ...WRITE_BATCH,
      closeFd: true,
      faults: this.faults,
    });
  }
}

/**
 * Lines are batched: system calls are the dearest part of a request here (the response's own write is about
 * 40 % of its CPU), so a file is written once per 8 kB of lines or every 250 ms, not once per line.
 */
export const WRITE_BATCH = { minLength: 8192, flushMs: 250 } as const;

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
