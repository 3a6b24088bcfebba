import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  Summary,
  type OpenMetricsContentType,
} from 'prom-client';
import { textToOpenMetrics } from './openmetrics';

/** The same metrics declared in a registry of each format: prom-client's own OpenMetrics is the reference. */
function registries() {
  const text = new Registry();
  const open = new Registry<OpenMetricsContentType>();
  open.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const register of [text, open]) {
    const registers = [register];
    collectDefaultMetrics({ register, prefix: 't_' });
    new Counter({ name: 't_jobs_total', help: 'Jobs done \\ kept.', labelNames: ['kind'], registers }).inc(
      { kind: 'a\\"b' },
      3,
    );
    new Counter({ name: 't_plain_total', help: 'No labels.', registers }).inc();
    new Gauge({ name: 't_depth', help: 'Queue depth.\nSecond line.', registers }).set(7);
    new Histogram({ name: 't_wait_seconds', help: 'Wait.', buckets: [0.1, 1], registers }).observe(0.5);
    new Summary({ name: 't_size_bytes', help: 'Size.', percentiles: [0.5], registers }).observe(10);
  }
  return { text, open };
}

// Samples keep their names and labels; values of the process metrics differ between two collections.
const shape = (exposition: string) =>
  exposition
    .split('\n')
    .filter(Boolean)
    .map((line) => (line.startsWith('#') ? line : line.replace(/ [^ ]+$/, ' <value>')));

describe('textToOpenMetrics', () => {
  it("turns prom-client's text exposition into what prom-client writes as OpenMetrics", async () => {
    const { text, open } = registries();
    const expected = (await open.metrics()).replace(/# EOF\n$/, '');
    expect(shape(textToOpenMetrics(await text.metrics()))).toEqual(shape(expected));
  });

  it('escapes double quotes in HELP, which the OpenMetrics ABNF requires (prom-client leaves them)', () => {
    expect(textToOpenMetrics('# HELP x_total Say "hi".\n# TYPE x_total counter\nx_total 1\n')).toBe(
      '# HELP x Say \\"hi\\".\n# TYPE x counter\nx_total 1\n',
    );
  });

  it('declares a counter without _total as unknown, so its series keep their names', () => {
    expect(textToOpenMetrics('# HELP x_count Things.\n# TYPE x_count counter\nx_count 3\n')).toBe(
      '# HELP x_count Things.\n# TYPE x_count unknown\nx_count 3\n',
    );
  });
});
