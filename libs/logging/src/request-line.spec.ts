import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@app/config';
import { createRootLogger } from './logger.factory';
import {
  cachedIsoTime,
  requestLinePinoFields,
  type RequestLineFields,
  type RequestLineLevel,
} from './request-line';

const CASES: Array<[RequestLineLevel, RequestLineFields]> = [
  [
    'info',
    {
      requestId: 'req-1',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      userId: 'user-456',
      method: 'GET',
      route: '/',
      path: '/',
      statusCode: 200,
      durationMs: 1.23,
    },
  ],
  [
    'warn',
    {
      requestId: 'a.b:c-d',
      traceId: undefined,
      spanId: undefined,
      userId: undefined,
      method: 'POST',
      route: 'UNMATCHED',
      path: '/x"y\\z\n\u2028é',
      statusCode: 404,
      durationMs: 0,
    },
  ],
  [
    'error',
    {
      requestId: 'r',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      userId: 'u@x',
      method: 'DELETE',
      route: '/api/feedback/workflow/:workflowId',
      path: '/api/feedback/workflow/wf-1',
      statusCode: 503,
      durationMs: 5012.5,
    },
  ],
  [
    'debug',
    {
      requestId: 'r',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      userId: undefined,
      method: 'GET',
      route: '/health/ready',
      path: '/health/ready',
      statusCode: 200,
      durationMs: 0.07,
    },
  ],
];

describe('the hand-rendered request line', () => {
  // The production logger itself writes each line twice: once through its fast renderer, once through pino
  // with the same fields. Apart from the time, the two must be the same bytes.
  it.each(['production', 'staging'])('is byte-for-byte what pino writes, in %s', async (environment) => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-request-line-'));
    try {
      const root = createRootLogger(
        parseConfig({ ENVIRONMENT: environment, LOG_DIR: dir, LOG_CONSOLE: 'off', LOG_LEVEL: 'debug' }),
      );
      for (const [level, f] of CASES) {
        root.logRequest(level, f);
        root.logger[level](requestLinePinoFields(f), 'API Request');
      }
      await root.close();
      const lines = readFileSync(join(dir, 'terra_constellata.log'), 'utf8').split('\n').filter(Boolean);
      expect(lines).toHaveLength(CASES.length * 2);
      const withoutTime = (line: string) => line.replace(/,"time":"[^"]+"/, '');
      for (let i = 0; i < CASES.length; i++) {
        const [hand, viaPino] = [lines[2 * i], lines[2 * i + 1]];
        expect(withoutTime(hand)).toBe(withoutTime(viaPino));
        expect(JSON.parse(hand)).toMatchObject({
          msg: 'API Request',
          environment,
          host: hostname(),
          path: CASES[i][1].path,
          status_code: CASES[i][1].statusCode,
        });
        expect((JSON.parse(hand) as { trace_id?: string }).trace_id).toBe(CASES[i][1].traceId);
      }
      // The errors file gets the error-level line from both, the same way.
      const errors = readFileSync(join(dir, 'errors.log'), 'utf8').split('\n').filter(Boolean);
      expect(errors.map(withoutTime)).toEqual([withoutTime(lines[4]), withoutTime(lines[5])]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cachedIsoTime', () => {
  it('renders the current time as pino does', () => {
    const time = cachedIsoTime();
    const before = Date.now();
    const rendered = time();
    const iso = /^,"time":"(.+)"$/.exec(rendered)![1];
    expect(Date.parse(iso)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(iso)).toBeLessThanOrEqual(Date.now());
    expect(new Date(iso).toISOString()).toBe(iso);
  });
});
