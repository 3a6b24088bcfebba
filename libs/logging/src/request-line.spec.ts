import pino from 'pino';
import { cachedIsoTime, requestLineRenderer, type RequestLineFields } from './request-line';

describe('requestLineRenderer', () => {
  const fixedTime = () => ',"time":"2026-11-27T10:54:17.358Z"';
  const render = requestLineRenderer({ environment: 'production', version: '1.2.3', time: fixedTime });

  // What pino, configured as createRootLogger configures it, writes for the same line.
  function viaPino(level: 'debug' | 'info' | 'warn' | 'error', f: RequestLineFields): string {
    let out = '';
    const logger = pino(
      {
        level: 'trace',
        base: { service: 'terra_constellata', environment: 'production', version: '1.2.3' },
        timestamp: fixedTime,
        formatters: { level: (label) => ({ level: label.toUpperCase() }) },
      },
      { write: (line: string) => void (out += line) },
    );
    logger[level](
      {
        request_id: f.requestId,
        user_id: f.userId,
        method: f.method,
        route: f.route,
        path: f.path,
        status_code: f.statusCode,
        duration_ms: f.durationMs,
      },
      'API Request',
    );
    return out;
  }

  it.each([
    [
      'info',
      {
        requestId: 'req-1',
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
        userId: undefined,
        method: 'GET',
        route: '/health/ready',
        path: '/health/ready',
        statusCode: 200,
        durationMs: 0.07,
      },
    ],
  ] as const)('writes the same JSON as pino at %s', (level, fields) => {
    const line = render(level, fields);
    expect(line).toBe(viaPino(level, fields));
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toMatchObject({
      msg: 'API Request',
      path: fields.path,
      status_code: fields.statusCode,
    });
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
