import { readdir, unlink } from 'node:fs/promises';
import { openSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import SonicBoom from 'sonic-boom';
import { ensureDirectory } from '@app/common';

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
 * day changes, keeping the newest maxFiles renamed files. Writes are asynchronous (SonicBoom). Files are opened
 * synchronously, so nothing races an open; at rotation the old writer drains into the renamed file while a new
 * one takes the path, so no line is lost.
 */
export class RotatingFileStream {
  private sonic: SonicBoom;
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
    this.sonic = open(options.path);
  }

  write(line: string): boolean {
    if (this.closed) return false;
    // Characters, not bytes: close enough for a rotation threshold, and free on the hot path.
    if ((this.size > 0 && this.size + line.length > this.options.maxBytes) || this.now() >= this.dayEndsAt) {
      this.rotate();
    }
    this.size += line.length;
    return this.sonic.write(line);
  }

  /** Renames the current file and starts a new one; a no-op for an empty file. */
  rotate(): void {
    const closingDay = new Date(this.dayEndsAt - DAY_MS).toISOString().slice(0, 10);
    this.dayEndsAt = nextUtcMidnight(this.now());
    if (this.size === 0) return;
    const target = this.freeName(closingDay);
    renameSync(this.options.path, target);
    this.size = 0;
    const old = this.sonic;
    this.sonic = open(this.options.path);
    this.drained = Promise.all([this.drained, endOf(old)]);
    this.pruning = this.pruning.then(() => this.prune()).catch(() => undefined);
  }

  flushSync(): void {
    if (!this.closed) {
      try {
        this.sonic.flushSync();
      } catch {
        // EAGAIN while an async write is in flight; end() below still drains it.
      }
    }
  }

  /** Writes what is buffered and closes the file; later writes are dropped. */
  async end(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.drained, endOf(this.sonic)]);
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

function open(path: string): SonicBoom {
  return new SonicBoom({ fd: openSync(path, 'a'), sync: false });
}

function endOf(sonic: SonicBoom): Promise<void> {
  return new Promise<void>((resolve) => {
    sonic.once('close', () => resolve());
    sonic.end();
  });
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
