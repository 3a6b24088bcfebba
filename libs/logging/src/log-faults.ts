/** What one log destination has lost since the service started. */
export interface LogLoss {
  /** The file name (terra_constellata.log, errors.log) or "stdout". */
  destination: string;
  /** Failed writes and opens, and discoveries that the file was removed under the writer. */
  failures: number;
  /** Log lines that never reached the destination. */
  lines: number;
  /** Their size in bytes (UTF-8). */
  bytes: number;
}

/**
 * What the operator is told when a log destination fails: one stderr line when writes start failing (with the
 * error code the system gave), one when a write has succeeded again (with the lines and bytes lost meanwhile),
 * whatever the number of failed writes in between; and running totals for the metrics. stderr is the console
 * the service always has; lines go on being written there when LOG_CONSOLE is on.
 */
export class LogFaults {
  private failing = false;
  private episodeLines = 0;
  private episodeBytes = 0;
  private readonly totals: LogLoss;

  constructor(
    private readonly path: string,
    private readonly write: (line: string) => void = (line) => void process.stderr.write(line),
    destination = path,
  ) {
    this.totals = { destination, failures: 0, lines: 0, bytes: 0 };
  }

  get isFailing(): boolean {
    return this.failing;
  }

  /** Totals since start; a snapshot the caller may keep. */
  loss(): LogLoss {
    return { ...this.totals };
  }

  /** A write or an open failed, or the file was found removed; `lines` lines of `bytes` bytes are gone with it. */
  failed(error: unknown, lines = 0, bytes = 0): void {
    this.totals.failures++;
    this.lost(lines, bytes);
    if (this.failing) return;
    this.failing = true;
    const code =
      (error as NodeJS.ErrnoException | null)?.code ?? (error as Error | null)?.message ?? String(error);
    this.write(`log file ${this.path}: writes failing (${code}); lines are lost until a write succeeds\n`);
  }

  /** Lines that were not written, without a write being tried (the file is not open). */
  lost(lines: number, bytes: number): void {
    this.totals.lines += lines;
    this.totals.bytes += bytes;
    this.episodeLines += lines;
    this.episodeBytes += bytes;
  }

  /** A write reached the file: ends a failure episode, if any. */
  succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    this.write(
      `log file ${this.path}: writes work again (${this.episodeLines} lines, ${this.episodeBytes} bytes lost meanwhile)\n`,
    );
    this.episodeLines = 0;
    this.episodeBytes = 0;
  }
}
