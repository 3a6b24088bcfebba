/**
 * What the operator is told when a log destination fails: one stderr line when writes start failing, one when
 * they work again (with what was lost meanwhile), whatever the number of failed writes in between. stderr is
 * the console the service always has; lines go on being written there when LOG_CONSOLE is on.
 */
export class LogFaults {
  private failing = false;
  private lostBytes = 0;

  constructor(
    private readonly destination: string,
    private readonly write: (line: string) => void = (line) => void process.stderr.write(line),
  ) {}

  get isFailing(): boolean {
    return this.failing;
  }

  /** A write or an open failed; `bytes` of log lines were not written. */
  failed(error: unknown, bytes = 0): void {
    this.lostBytes += bytes;
    if (this.failing) return;
    this.failing = true;
    const code =
      (error as NodeJS.ErrnoException | null)?.code ?? (error as Error | null)?.message ?? String(error);
    this.write(`log file ${this.destination}: writes failing (${code}); lines are lost until it recovers\n`);
  }

  /** A write succeeded: ends a failure episode, if any. */
  succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    this.write(`log file ${this.destination}: writes work again (${this.lostBytes} bytes lost meanwhile)\n`);
    this.lostBytes = 0;
  }
}
