// Same-run price of redacting every pino line: the service's hook (redactDeep on every argument: secret-named
// fields at any depth and secrets in free text) against no redaction and against pino's own `redact` paths
// (which cannot see free text), on the lines the service writes beside its request line. The destination
// discards, so the figure is the logger's own CPU per line, with no file or console write to hide it.
import pino, { type Logger, type LoggerOptions } from 'pino';
import { redactText } from '@app/common';
import { REDACTING_HOOKS } from '@app/logging';

const discard = { write: (_line: string) => undefined };

const options: LoggerOptions = {
  base: { service: 'terra_constellata', environment: 'production', version: '1.0.0' },
  formatters: { level: (label: string) => ({ level: label.toUpperCase() }) },
};

/** What the service logs besides its request lines: a business event, a warn with fields, a message alone. */
function writeLines(logger: Logger, i: number): void {
  logger.info(
    {
      request_id: '0b6f0f3e-8a8f-4a8e-9a56-1f1e3c5b7d9a',
      event: 'workflow_failed',
      workflow_id: 'a3c7f0d2-1b2e-4c5d-8e9f-0a1b2c3d4e5f',
      workflow_type: 'map_rendering',
      error: `renderer ran out of memory at tile ${i}`,
    },
    'workflow_failed',
  );
  logger.warn({ sql: 'SELECT 1 FROM feedback WHERE id = $1', duration_ms: 1200 }, 'Slow SQL query');
  logger.info(`feedback insights recomputed in ${i % 100} ms`);
}

const LINES_PER_CALL = 3;

function cpuPerLine(logger: Logger, calls: number): number {
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) writeLines(logger, i);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / (calls * LINES_PER_CALL);
}

function cpuPerPath(paths: string[], redact: boolean, count: number): number {
  let sink = 0;
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++)
    sink += (redact ? redactText(paths[i % paths.length]) : paths[i % paths.length]).length;
  const used = process.cpuUsage(before);
  if (sink === 0) throw new Error('nothing measured');
  return (used.user + used.system) / count;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export interface RedactionResult {
  lines: number;
  rounds: number;
  /** CPU µs per pino line, medians of the rounds. */
  none: number;
  hook: number;
  pinoRedact: number;
  /** CPU µs per request-line path, without and with redactText. */
  pathPlain: number;
  pathRedacted: number;
}

export function compareRedaction(lines: number, rounds: number): RedactionResult {
  const loggers = {
    none: pino(options, discard),
    hook: pino({ ...options, hooks: REDACTING_HOOKS }, discard),
    pinoRedact: pino(
      {
        ...options,
        redact: [
          'password',
          'token',
          'secret',
          'api_key',
          'authorization',
          '*.password',
          '*.token',
          '*.secret',
        ],
      },
      discard,
    ),
  };
  const calls = Math.ceil(lines / LINES_PER_CALL);
  const runs: Record<keyof typeof loggers, number[]> = { none: [], hook: [], pinoRedact: [] };
  const names = Object.keys(loggers) as Array<keyof typeof loggers>;
  for (const name of names) cpuPerLine(loggers[name], Math.ceil(calls / 10));
  for (let round = 0; round < rounds; round++) {
    // Rotated each round, so no variant always runs first.
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length];
      runs[name].push(cpuPerLine(loggers[name], calls));
    }
  }
  const paths = [
    '/',
    '/api/feedback/submit',
    '/api/workflows/a3c7f0d2-1b2e-4c5d-8e9f-0a1b2c3d4e5f/fail',
    '/health/live',
  ];
  const plain: number[] = [];
  const redacted: number[] = [];
  for (let round = 0; round < rounds; round++) {
    plain.push(cpuPerPath(paths, false, lines * 5));
    redacted.push(cpuPerPath(paths, true, lines * 5));
  }
  return {
    lines,
    rounds,
    none: median(runs.none),
    hook: median(runs.hook),
    pinoRedact: median(runs.pinoRedact),
    pathPlain: median(plain),
    pathRedacted: median(redacted),
  };
}
