import { Counter, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { parseExposition } from '../../../test/support/exposition';
import { REQUEST_DURATION_BUCKETS } from './metrics.constants';
import { RequestMetrics } from './request-metrics';

const FAMILIES = {
  requests: { name: 't_requests_total', help: 'Requests.' },
  duration: { name: 't_request_duration_seconds', help: 'Duration.', buckets: REQUEST_DURATION_BUCKETS },
  errors: { name: 't_errors_total', help: 'Errors.' },
  serverErrors: { name: 't_server_errors_total', help: 'Server errors.' },
  errorTypes: { name: 't_errors_by_type_total', help: 'Errors by type.' },
};

/**
 * The same observations recorded the way prom-client would, as the reference for the text format, or for
 * OpenMetrics with the trace id as exemplar of the duration buckets and error counters.
 */
function reference(format: 'prometheus' | 'openmetrics' = 'prometheus') {
  const open = format === 'openmetrics';
  const registry = new Registry<RegistryContentType>();
  if (open) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const registers = [registry];
  const enableExemplars = open;
  const requests = new Counter({
    name: FAMILIES.requests.name,
    help: FAMILIES.requests.help,
    labelNames: ['method', 'route'],
    registers,
  });
  const duration = new Histogram({
    name: FAMILIES.duration.name,
    help: FAMILIES.duration.help,
    labelNames: ['method', 'route', 'status_code'],
    buckets: REQUEST_DURATION_BUCKETS,
    registers,
    enableExemplars,
  });
  const errors = new Counter({
    name: FAMILIES.errors.name,
    help: FAMILIES.errors.help,
    labelNames: ['method', 'route'],
    registers,
    enableExemplars,
  });
  const serverErrors = new Counter({
    name: FAMILIES.serverErrors.name,
    help: FAMILIES.serverErrors.help,
    labelNames: ['method', 'route'],
    registers,
    enableExemplars,
  });
  const errorTypes = new Counter({
    name: FAMILIES.errorTypes.name,
    help: FAMILIES.errorTypes.help,
    labelNames: ['method', 'route', 'status_code', 'error_type'],
    registers,
    enableExemplars,
  });
  // prom-client's exemplar API takes one options object; without exemplars, labels and value.
  const inc = (counter: Counter, labels: Record<string, string>, value: number, traceId: string) =>
    open
      ? counter.inc({
          labels,
          value,
          ...(value > 0 ? { exemplarLabels: { trace_id: traceId } as unknown as typeof labels } : {}),
        })
      : counter.inc(labels, value);
  return {
    registry,
    record(
      method: string,
      route: string,
      status: number,
      seconds: number,
      errorType: string | null,
      traceId: string,
    ) {
      const labels = { method, route, status_code: String(status) };
      requests.inc({ method, route });
      // A route's errors_total and server_errors_total exist (at 0) from its first request.
      inc(errors, { method, route }, errorType === null ? 0 : 1, traceId);
      inc(serverErrors, { method, route }, status >= 500 ? 1 : 0, traceId);
      // prom-client types exemplar labels as the metric's own label names.
      const exemplarLabels = { trace_id: traceId } as unknown as typeof labels;
      if (open) duration.observe({ labels, value: seconds, exemplarLabels });
      else duration.observe(labels, seconds);
      if (errorType !== null) inc(errorTypes, { ...labels, error_type: errorType }, 1, traceId);
    },
  };
}

// Sample lines with their labels in a canonical order (prom-client writes `le` first, the Go client last),
// and the HELP and TYPE lines as they are.
const canonical = (text: string) =>
  [
    ...text.split('\n').filter((line) => line.startsWith('#')),
    ...parseExposition(text).map(
      (s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${s.value}`,
    ),
  ].sort();

/** Records the same requests in both; the trace ids differ per request, so exemplars show which one won. */
function recordAll(ours: RequestMetrics, theirs: ReturnType<typeof reference>) {
  const routes = ['/api/feedback/submit', '/a "quoted" \\ route\nwith a newline', 'UNMATCHED'];
  const statuses = [200, 201, 400, 404, 500, 503];
  // Edge values land on bucket bounds, below the first and above the last.
  const durations = [0, 0.005, 0.0051, 0.1, 1, 7.5, 29.9, 30, 31, 1234.5];
  let n = 0;
  for (const route of routes)
    for (const status of statuses)
      for (const seconds of durations) {
        const errorType = status < 400 ? null : n % 2 === 0 ? 'HttpException' : 'NotFoundException';
        const traceId = (n++).toString(16).padStart(32, '0');
        ours.record('GET', route, status, seconds, errorType, traceId);
        theirs.record('GET', route, status, seconds, errorType, traceId);
      }
}

describe('RequestMetrics', () => {
  it('renders exactly what prom-client renders for the same requests', async () => {
    const ours = new RequestMetrics(FAMILIES);
    const theirs = reference();
    recordAll(ours, theirs);
    const text = await ours.render();
    expect(text).not.toContain('trace_id');
    expect(canonical(text)).toEqual(canonical(await theirs.registry.metrics()));
  });

  it('renders in OpenMetrics what prom-client renders there, exemplars included (their times aside)', async () => {
    const ours = new RequestMetrics(FAMILIES);
    const theirs = reference('openmetrics');
    recordAll(ours, theirs);
    // Lines as written, with the exemplar's timestamp cut off and `le` last (prom-client writes it first).
    const lines = (text: string) =>
      text
        .split('\n')
        .filter((line) => line !== '' && line !== '# EOF')
        .map((line) =>
          line
            .replace(/( # \{[^}]*\} \S+) \S+$/, '$1')
            .replace(/^(\w+_bucket)\{le="([^"]+)",(.*?)\} /, '$1{$3,le="$2"} '),
        )
        .sort();
    const ourText = await ours.render('openmetrics');
    expect(ourText).toContain('# TYPE t_server_errors counter\n');
    expect(ourText).toMatch(
      /^t_request_duration_seconds_bucket\{.*\} \d+ # \{trace_id="[0-9a-f]{32}"\} \S+ \d+\.?\d*$/m,
    );
    expect(lines(ourText)).toEqual(lines(await theirs.registry.metrics()));
  });

  it('folds methods outside the closed set into one "other" series', async () => {
    const metrics = new RequestMetrics(FAMILIES);
    metrics.record('PROPFIND', '/x', 404, 0.001, 'NotFoundException');
    metrics.record('MKCOL', '/x', 404, 0.001, 'NotFoundException');
    const text = await metrics.render();
    expect(text).toContain('t_requests_total{method="other",route="/x"} 2\n');
    expect(text).toContain('t_errors_total{method="other",route="/x"} 2\n');
    expect(text).toContain(
      't_errors_by_type_total{method="other",route="/x",status_code="404",error_type="NotFoundException"} 2\n',
    );
    expect(text).toContain(
      't_request_duration_seconds_count{method="other",route="/x",status_code="404"} 2\n',
    );
    expect(text.match(/^t_requests_total/gm)).toHaveLength(1);
  });

  it('lets the event loop run while it renders thousands of series', async () => {
    const metrics = new RequestMetrics(FAMILIES);
    for (let i = 0; i < 2_000; i++) metrics.record('GET', `/route-${i}`, 200, 0.01, null);
    let turns = 0;
    const tick = setInterval(() => turns++, 0);
    const text = await metrics.render();
    clearInterval(tick);
    expect(text.match(/^t_request_duration_seconds_count/gm)).toHaveLength(2_000);
    // 2,000 series in slices of 50: the timer got a turn between slices.
    expect(turns).toBeGreaterThan(0);
  });

  it('gives every route errors_total and server_errors_total from its first request, so a first 5xx is an increase', async () => {
    const metrics = new RequestMetrics(FAMILIES);
    metrics.record('GET', '/ok', 200, 0.01, null);
    metrics.record('POST', '/half', 201, 0.01, null);
    metrics.record('POST', '/half', 400, 0.01, 'BadRequestException');
    const before = parseExposition(await metrics.render());
    metrics.record('POST', '/half', 503, 0.01, 'ServiceUnavailableException');
    const samples = parseExposition(await metrics.render());
    const value = (name: string, labels: Record<string, string>, from = samples) =>
      from.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
    expect(value('t_errors_total', { method: 'GET', route: '/ok' })).toBe(0);
    expect(value('t_server_errors_total', { method: 'GET', route: '/ok' })).toBe(0);
    expect(value('t_requests_total', { method: 'GET', route: '/ok' })).toBe(1);
    expect(value('t_errors_total', { method: 'POST', route: '/half' })).toBe(2);
    expect(value('t_requests_total', { method: 'POST', route: '/half' })).toBe(3);
    // The route's first 5xx moves a series that was already there at 0.
    expect(value('t_server_errors_total', { method: 'POST', route: '/half' }, before)).toBe(0);
    expect(value('t_server_errors_total', { method: 'POST', route: '/half' })).toBe(1);
    // No status code or error type on the two counters: rate(errors_total) / rate(requests_total) matches them one to one.
    expect(
      samples
        .filter((s) => ['t_requests_total', 't_errors_total', 't_server_errors_total'].includes(s.name))
        .every((s) => Object.keys(s.labels).join() === 'method,route'),
    ).toBe(true);
  });
});
