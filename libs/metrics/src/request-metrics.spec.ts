import { Counter, Histogram, Registry } from 'prom-client';
import { parseExposition } from '../../../test/support/exposition';
import { REQUEST_DURATION_BUCKETS } from './metrics.constants';
import { RequestMetrics } from './request-metrics';

const FAMILIES = {
  requests: { name: 't_requests_total', help: 'Requests.' },
  duration: { name: 't_request_duration_seconds', help: 'Duration.', buckets: REQUEST_DURATION_BUCKETS },
  errors: { name: 't_errors_total', help: 'Errors.' },
  errorTypes: { name: 't_errors_by_type_total', help: 'Errors by type.' },
};

/** The same observations recorded the way prom-client would, as the reference for the text format. */
function reference() {
  const registry = new Registry();
  const registers = [registry];
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
  });
  const errors = new Counter({
    name: FAMILIES.errors.name,
    help: FAMILIES.errors.help,
    labelNames: ['method', 'route'],
    registers,
  });
  const errorTypes = new Counter({
    name: FAMILIES.errorTypes.name,
    help: FAMILIES.errorTypes.help,
    labelNames: ['method', 'route', 'status_code', 'error_type'],
    registers,
  });
  return {
    registry,
    record(method: string, route: string, status: number, seconds: number, errorType: string | null) {
      const labels = { method, route, status_code: String(status) };
      requests.inc({ method, route });
      // A route's errors_total exists (at 0) from its first request.
      errors.inc({ method, route }, errorType === null ? 0 : 1);
      duration.observe(labels, seconds);
      if (errorType !== null) errorTypes.inc({ ...labels, error_type: errorType });
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

describe('RequestMetrics', () => {
  it('renders exactly what prom-client renders for the same requests', async () => {
    const ours = new RequestMetrics(FAMILIES);
    const theirs = reference();
    const routes = ['/api/feedback/submit', '/a "quoted" \\ route\nwith a newline', 'UNMATCHED'];
    const statuses = [200, 201, 400, 404, 500];
    // Edge values land on bucket bounds, below the first and above the last.
    const durations = [0, 0.005, 0.0051, 0.1, 1, 7.5, 29.9, 30, 31, 1234.5];
    let n = 0;
    for (const route of routes)
      for (const status of statuses)
        for (const seconds of durations) {
          const errorType = status < 400 ? null : n++ % 2 === 0 ? 'HttpException' : 'NotFoundException';
          ours.record('GET', route, status, seconds, errorType);
          theirs.record('GET', route, status, seconds, errorType);
        }

    expect(canonical(await ours.render())).toEqual(canonical(await theirs.registry.metrics()));
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

  it('gives every route an errors_total series from its first request, so its error ratio is 0, not absent', async () => {
    const metrics = new RequestMetrics(FAMILIES);
    metrics.record('GET', '/ok', 200, 0.01, null);
    metrics.record('POST', '/half', 201, 0.01, null);
    metrics.record('POST', '/half', 400, 0.01, 'BadRequestException');
    const samples = parseExposition(await metrics.render());
    const value = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
    expect(value('t_errors_total', { method: 'GET', route: '/ok' })).toBe(0);
    expect(value('t_requests_total', { method: 'GET', route: '/ok' })).toBe(1);
    expect(value('t_errors_total', { method: 'POST', route: '/half' })).toBe(1);
    expect(value('t_requests_total', { method: 'POST', route: '/half' })).toBe(2);
    // No status code or error type on the two counters: rate(errors_total) / rate(requests_total) matches them one to one.
    expect(
      samples
        .filter((s) => s.name === 't_requests_total' || s.name === 't_errors_total')
        .every((s) => Object.keys(s.labels).join() === 'method,route'),
    ).toBe(true);
  });
});
