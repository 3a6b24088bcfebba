import { redactText } from '@app/common';
import { CUSTOM_LEVELS, SERVICE_NAME } from './logging.constants';

export type RequestLineLevel = 'debug' | 'info' | 'warn' | 'error';

export const LEVEL_VALUES: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  ...CUSTOM_LEVELS,
};

export interface RequestLineFields {
  requestId: string;
  traceId: string | undefined;
  spanId: string | undefined;
  userId: string | undefined;
  method: string;
  route: string;
  path: string;
  statusCode: number;
  durationMs: number;
}

/** The request line's fields as pino logs them: the one definition the hand renderer below must match. */
export function requestLinePinoFields(f: RequestLineFields): Record<string, unknown> {
  return {
    request_id: f.requestId,
    trace_id: f.traceId,
    span_id: f.spanId,
    user_id: f.userId,
    method: f.method,
    route: f.route,
    path: f.path,
    status_code: f.statusCode,
    duration_ms: f.durationMs,
  };
}

/** `,"time":"<ISO>"` for now, made once per millisecond: under load many lines share one. */
export function cachedIsoTime(): () => string {
  let lastMs = -1;
  let last = '';
  return () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      last = `,"time":"${new Date(now).toISOString()}"`;
    }
    return last;
  };
}

/**
 * Renders the "API Request" line as the same JSON pino would write, without pino's general machinery: it is
 * the one line written for every request. Request and user ids passed the sane-id check, trace and span ids are
 * hex and methods are HTTP tokens, so they need no escaping; the host name is escaped once, with the base; route
 * templates are escaped once each; only the path is escaped per line, after the text redaction every pino line
 * gets (a path like `/login/password=...` matches no route but is still written).
 */
export function requestLineRenderer(base: {
  environment: string;
  version: string;
  host: string;
  time: () => string;
}): (level: RequestLineLevel, fields: RequestLineFields) => string {
  const baseJson = `,"service":${JSON.stringify(SERVICE_NAME)},"environment":${JSON.stringify(base.environment)},"version":${JSON.stringify(base.version)},"host":${JSON.stringify(base.host)}`;
  const prefixes: Record<RequestLineLevel, string> = {
    debug: '{"level":"DEBUG"',
    info: '{"level":"INFO"',
    warn: '{"level":"WARN"',
    error: '{"level":"ERROR"',
  };
  const routes = new Map<string, string>();
  return (level, f) => {
    let route = routes.get(f.route);
    if (route === undefined) {
      route = JSON.stringify(f.route);
      // Routes come from code, but a bound keeps a bug from turning this into a leak.
      if (routes.size < 10_000) routes.set(f.route, route);
    }
    const user = f.userId === undefined ? '' : `,"user_id":"${f.userId}"`;
    const trace = f.traceId === undefined ? '' : `,"trace_id":"${f.traceId}","span_id":"${f.spanId}"`;
    return (
      `${prefixes[level]}${base.time()}${baseJson},"request_id":"${f.requestId}"${trace}${user},"method":"${f.method}"` +
      `,"route":${route},"path":${JSON.stringify(redactText(f.path))},"status_code":${f.statusCode},"duration_ms":${f.durationMs}` +
      `,"msg":"API Request"}\n`
    );
  };
}
