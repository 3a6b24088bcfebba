import { readdir, unlink } from 'node:fs/promises';
import { openSync, readdirSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ensureDirectory } from '@app/common';
import { BatchedWriter, type WriteFaults } from './batched-writer';
import { LogFaults, type LogLoss } from './log-faults';

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
 * counted (loss()), stderr gets one line when that starts and one when a write has succeeded again, and the file
 * (and its directory) is recreated as soon as that is possible. The caller, a request among others, never sees a
 * file-system error.
 *
 * A removed file is not an error to the descriptor: writes go on succeeding into the unlinked inode. The file is
 * checked every second; what was written since the last check that found it (and what is still being written to
 * the old descriptor) is counted as lost, and lines still waiting in memory go to the new file.
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
  // What the current writer had written at the last check that found the file in place.
  private checkpoint = { lines: 0, bytes: 0 };
  // Writers of removed files still finishing a batch: no "writes work again" before they are done.
  private draining = 0;
  private readonly sink: WriteFaults = {
    failed: (error, lines, bytes) => this.faults.failed(error, lines, bytes),
    succeeded: () => {
      if (this.draining === 0) this.faults.succeeded();
    },
  };

  constructor(private readonly options: RotatingFileOptions) {
    this.now = options.now ?? Date.now;
    this.faults = new LogFaults(options.path, options.report, basename(options.path));
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
        this.faults.lost(1, Buffer.byteLength(line));
        return false;
      }
      this.size += line.length;
      return this.writer.write(line);
    } catch (error) {
      this.faults.failed(error, 1, Buffer.byteLength(line));
      return false;
    }
  }

  /** Lines, bytes and failures lost since start. */
  loss(): LogLoss {
    return this.faults.loss();
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
      this.gone(error);
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
    try {
      statSync(this.options.path);
      this.checkpoint = { lines: this.writer.linesWritten, bytes: this.writer.bytesWritten };
    } catch (error) {
      // ENOENT when removed, ENOTDIR when the directory became a file, EACCES when it is no longer searchable.
      this.gone(error);
    }
  }

  /**
   * The file is no longer where the writer's descriptor points: what it wrote since the last check, and what it
   * is still writing, went to an unlinked file; lines still in memory are given to a new file.
   */
  private gone(error: unknown): void {
    const old = this.writer;
    this.writer = undefined;
    this.size = 0;
    if (!old) return this.reopen();
    this.faults.failed(
      error,
      old.linesWritten - this.checkpoint.lines,
      old.bytesWritten - this.checkpoint.bytes,
    );
    this.draining++;
    const pending = old.takePending({
      failed: (e, lines, bytes) => this.faults.failed(e, lines, bytes),
      succeeded: (lines, bytes) => this.faults.lost(lines, bytes),
    });
    this.drained = Promise.all([
      this.drained,
      old.end().finally(() => {
        this.draining--;
      }),
    ]);
    this.reopen();
    for (const line of pending) this.write(line);
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
      this.checkpoint = { lines: 0, bytes: 0 };
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
      faults: this.sink,
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
