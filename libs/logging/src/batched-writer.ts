import { close, write, writeSync } from 'node:fs';

export interface BatchedWriterOptions {
  /** Bytes (roughly) gathered before a write is started. */
  minLength: number;
  /** Longest time a line waits in memory. */
  flushMs: number;
  /** Close the descriptor at end() (files yes, stdout no). */
  closeFd: boolean;
  /** Told of failed and successful writes; by default a failed batch is one stderr line. */
  faults?: WriteFaults;
}

/** Where a writer reports what happened to each batch it wrote. */
export interface WriteFaults {
  /** The batch of `lines` lines (`bytes` bytes) was not written. */
  failed(error: unknown, lines: number, bytes: number): void;
  /** The batch of `lines` lines (`bytes` bytes) was written. */
  succeeded(lines: number, bytes: number): void;
}

/**
 * Appends lines to a file descriptor in batches: one asynchronous write per `minLength` of lines or per
 * `flushMs`, never one per line, and never on the caller's stack. System calls are the dearest part of a request
 * here, and SonicBoom (pino's writer) measures its whole pending buffer on every line, which makes batching with
 * it cost more than it saves.
 */
export class BatchedWriter {
  private pending: string[] = [];
  private pendingLength = 0;
  private writing = false;
  private ended = false;
  private idle: Array<() => void> = [];
  /** Bytes written to the descriptor so far. */
  bytesWritten = 0;
  /** Lines (calls of write()) written to the descriptor so far. */
  linesWritten = 0;
  private readonly timer: NodeJS.Timeout;
  private faults: WriteFaults | undefined;

  constructor(
    private readonly fd: number,
    private readonly options: BatchedWriterOptions,
  ) {
    this.faults = options.faults;
    this.timer = setInterval(() => this.flush(), options.flushMs);
    this.timer.unref();
  }

  /** Lines are waiting in memory or being written. */
  get hasPending(): boolean {
    return this.writing || this.pendingLength > 0;
  }

  write(line: string): boolean {
    if (this.ended) return false;
    this.pending.push(line);
    this.pendingLength += line.length;
    if (!this.writing && this.pendingLength >= this.options.minLength) this.flush();
    return true;
  }

  /** Starts writing what is pending unless a write is already under way (it continues with the rest). */
  flush(): void {
    if (this.writing || this.pendingLength === 0) return;
    const data = Buffer.from(this.pending.join(''));
    const lines = this.pending.length;
    this.pending = [];
    this.pendingLength = 0;
    this.writing = true;
    this.writeOut(data, lines);
  }

  /**
   * Hands back the lines not yet being written and sends what this writer reports from now on (the batch
   * under way, if any) to `faults`: for a file found removed, whose pending lines belong in the new file.
   */
  takePending(faults: WriteFaults): string[] {
    const taken = this.pending;
    this.pending = [];
    this.pendingLength = 0;
    this.faults = faults;
    return taken;
  }

  /**
   * Writes what is pending now, synchronously, for a process about to die. A batch already being written
   * asynchronously may land after it.
   */
  flushSync(): void {
    if (this.pendingLength === 0) return;
    let data = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
    for (let attempts = 0; data.length > 0 && attempts < 1000; attempts++) {
      try {
        data = data.subarray(writeSync(this.fd, data));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      }
    }
  }

  /** Writes everything pending, then closes the descriptor if it owns it; later writes are dropped. */
  async end(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      clearInterval(this.timer);
    }
    while (this.writing || this.pendingLength > 0) {
      await new Promise<void>((resolve) => {
        this.idle.push(resolve);
        this.flush();
      });
    }
    if (this.options.closeFd) await new Promise<void>((resolve) => close(this.fd, () => resolve()));
  }

  // `lines`: how many lines `data` holds (or what is left of them, after a partial write).
  private writeOut(data: Buffer, lines: number): void {
    write(this.fd, data, 0, data.length, null, (error, written) => {
      if (error) {
        // A non-blocking pipe (stdout) can be full for a moment; anything else loses this batch.
        if (error.code === 'EAGAIN') return void setTimeout(() => this.writeOut(data, lines), 5);
        if (this.faults) this.faults.failed(error, lines, data.length);
        else
          process.stderr.write(
            `log write failed (${error.code ?? error.message}); ${lines} lines, ${data.length} bytes lost\n`,
          );
      } else if (written < data.length) {
        this.bytesWritten += written;
        // Lines wholly inside the part written count as written; the one cut in two counts with the rest.
        const rest = data.subarray(written);
        const done = lines - countLines(rest);
        this.linesWritten += done;
        return this.writeOut(rest, lines - done);
      } else {
        this.bytesWritten += written;
        this.linesWritten += lines;
        this.faults?.succeeded(lines, written);
      }
      this.writing = false;
      if (this.pendingLength >= this.options.minLength || (this.ended && this.pendingLength > 0)) {
        this.flush();
      } else if (this.pendingLength === 0) {
        for (const resolve of this.idle.splice(0)) resolve();
      }
    });
  }
}

/** Lines begun in `data` (every line ends with a newline; a partial one at the start counts as one). */
function countLines(data: Buffer): number {
  let count = 0;
  for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) count++;
  return data.length > 0 && data[data.length - 1] !== 10 ? count + 1 : count;
}
