import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { HTTP_METHODS, OTHER } from './metrics.constants';

export interface RequestFamilies {
  requests: { name: string; help: string };
  duration: { name: string; help: string; buckets: readonly number[] };
  errors: { name: string; help: string };
  serverErrors: { name: string; help: string };
  errorTypes: { name: string; help: string };
}

/** The exposition formats /metrics speaks. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/**
 * The latest request of a counter or a bucket, as an OpenMetrics exemplar: its trace id (every request has one,
 * and every request's log lines carry it), its value and when it was recorded. One per series or bucket, replaced
 * by each request: bounded whatever the traffic.
 */
interface Exemplar {
  traceId: string | undefined;
  value: number;
  // Epoch milliseconds.
  time: number;
}

interface DurationSeries {
  labels: string;
  // Per-bucket (not cumulative) counts; the last slot is +Inf.
  buckets: Float64Array;
  // The latest observation of each bucket, slot for slot.
  exemplarTraces: Array<string | undefined>;
  exemplarValues: Float64Array;
  exemplarTimes: Float64Array;
  sum: number;
  count: number;
}

/**
 * requests_total, errors_total and server_errors_total of one method and route: the same labels, errors a
 * subset of requests, server errors a subset of errors.
 */
interface RouteSeries {
  labels: string;
  requests: number;
  errors: number;
  serverErrors: number;
  lastError: Exemplar;
  lastServerError: Exemplar;
}

interface ErrorTypeSeries {
  labels: string;
  count: number;
  last: Exemplar;
}

/** Everything one (method, route, status[, error type]) request updates, looked up once. */
interface Entry {
  route: RouteSeries;
  duration: DurationSeries;
  errorType: ErrorTypeSeries | null;
}

// Rendering yields to the event loop after this many series: a slice renders in well under a millisecond, so
// a scrape of thousands of series never holds a concurrent request for long.
const SERIES_PER_SLICE = 50;

/** Label values as the text format wants them: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/**
 * The per-request families (requests_total, errors_total, request_duration_seconds, errors_by_type_total), kept
 * outside prom-client because they are the only large ones: prom-client hashes the label object on every
 * observation and renders a histogram of thousands of series in one synchronous block, re-escaping every label
 * each time. Here a request does one Map lookup and a few additions, label strings are rendered once per series,
 * and a scrape renders in slices with the event loop free in between.
 *
 * requests_total, errors_total (status >= 400) and server_errors_total (>= 500) carry the same labels (method,
 * route), so the documented `rate(errors_total[5m]) / rate(requests_total[5m])` is each route's error ratio. Every
 * route has both error series from its first request, at 0 until it fails: a healthy route shows 0, not
 * nothing, and a route's first 5xx is an increase Prometheus sees (a series born at 1 has no increase). The
 * status code lives on the histogram, the exception class on errors_by_type_total; those series are born with
 * their first request, so alerts and ratios read server_errors_total.
 *
 * In OpenMetrics the duration buckets and the three error counters carry the latest request as an exemplar
 * `{trace_id="..."}`. No `_created` samples: Prometheus 2 stores each as one more series per label set, and the
 * zero-born error series already make every first error visible.
 */
export class RequestMetrics {
  // Looked up by route, then method, then status (and error type): route templates are long-lived strings whose
  // hash V8 keeps, where a key concatenated per request would be hashed anew every time. Raw methods outside
  // the closed set share the `other` series, so series are also kept by label set.
  private readonly byRoute = new Map<string, Map<string, Map<number | string, Entry>>>();
  private readonly routes = new Map<string, RouteSeries>();
  private readonly durations = new Map<string, DurationSeries>();
  private readonly errorTypes = new Map<string, ErrorTypeSeries>();
  private readonly bounds: Float64Array;
  private readonly les: string[];

  constructor(private readonly families: RequestFamilies) {
    this.bounds = Float64Array.from(families.duration.buckets);
    this.les = [...families.duration.buckets.map((b) => `,le="${b}"} `), ',le="+Inf"} '];
  }

  /**
   * Counts one finished request; `errorType` is set for error responses (status >= 400) only; `traceId` becomes
   * the exemplar of its bucket and error counters.
   */
  record(
    method: string,
    route: string,
    statusCode: number,
    seconds: number,
    errorType: string | null,
    traceId?: string,
  ): void {
    let methods = this.byRoute.get(route);
    if (methods === undefined) this.byRoute.set(route, (methods = new Map()));
    let statuses = methods.get(method);
    if (statuses === undefined) methods.set(method, (statuses = new Map()));
    // Successes by status number; errors by status and error type, which are rarer.
    const key = errorType === null ? statusCode : `${statusCode} ${errorType}`;
    const entry = statuses.get(key) ?? this.createEntry(statuses, key, method, route, statusCode, errorType);
    const now = Date.now();
    const routeSeries = entry.route;
    routeSeries.requests++;
    if (entry.errorType !== null) {
      routeSeries.errors++;
      mark(routeSeries.lastError, traceId, now);
      entry.errorType.count++;
      mark(entry.errorType.last, traceId, now);
      if (statusCode >= 500) {
        routeSeries.serverErrors++;
        mark(routeSeries.lastServerError, traceId, now);
      }
    }
    const duration = entry.duration;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    duration.buckets[i]++;
    duration.exemplarTraces[i] = traceId;
    duration.exemplarValues[i] = seconds;
    duration.exemplarTimes[i] = now;
    duration.sum += seconds;
    duration.count++;
  }

  /** The families in the Prometheus text format, or in OpenMetrics (without its closing `# EOF`). */
  async render(format: ExpositionFormat = 'prometheus'): Promise<string> {
    return (await this.renderSlices(format)).join('');
  }

  /**
   * The families as consecutive pieces of ~50 series each, rendered with the event loop free in between. Sent
   * one after another, they spare the ~3 ms that joining 1.3 MB (10,000 series) into one string takes here, and
   * the same again to encode it in one piece. OpenMetrics differs in three ways: a counter family is named
   * without `_total` in its HELP and TYPE lines, samples carry exemplars, and HELP escapes double quotes.
   */
  async renderSlices(format: ExpositionFormat = 'prometheus'): Promise<string[]> {
    const { requests, duration, errors, serverErrors, errorTypes } = this.families;
    const open = format === 'openmetrics';
    const ex = open ? exemplarOf : noExemplar;
    // Each slice is joined into one flat string as it is finished: a single join of thousands of
    // concatenated pieces at the end held the event loop for ~5 ms on its own.
    const slices: string[] = [];
    let out: string[] = [];
    const endSlice = () => {
      slices.push(out.join(''));
      out = [];
    };
    const header = (name: string, help: string, type: 'counter' | 'histogram') => {
      const family = open && type === 'counter' ? name.replace(/_total$/, '') : name;
      const text = open ? help.replaceAll('"', '\\"') : help;
      return `# HELP ${family} ${text}\n# TYPE ${family} ${type}\n`;
    };
    // Snapshots: series created while a slice waits are picked up by the next scrape. The counters of a route
    // are read in one go, so errors_total never runs ahead of requests_total within a scrape.
    const routes = [...this.routes.values()];
    const durations = [...this.durations.values()];
    const errorLines = [header(errors.name, errors.help, 'counter')];
    const serverErrorLines = [header(serverErrors.name, serverErrors.help, 'counter')];
    out.push(header(requests.name, requests.help, 'counter'));
    for (const s of routes) {
      out.push(`${requests.name}{${s.labels}} ${s.requests}\n`);
      errorLines.push(`${errors.name}{${s.labels}} ${s.errors}${ex(s.lastError)}\n`);
      serverErrorLines.push(`${serverErrors.name}{${s.labels}} ${s.serverErrors}${ex(s.lastServerError)}\n`);
    }
    out.push(errorLines.join(''), serverErrorLines.join(''));
    out.push(header(errorTypes.name, errorTypes.help, 'counter'));
    for (const s of this.errorTypes.values())
      out.push(`${errorTypes.name}{${s.labels}} ${s.count}${ex(s.last)}\n`);
    out.push(header(duration.name, duration.help, 'histogram'));
    const bucket = `${duration.name}_bucket{`;
    for (let n = 0; n < durations.length; n++) {
      if (n > 0 && n % SERIES_PER_SLICE === 0) {
        endSlice();
        await yieldToEventLoop();
      }
      const s = durations[n];
      let lines = '';
      let cumulative = 0;
      for (let i = 0; i < this.les.length; i++) {
        cumulative += s.buckets[i];
        lines += `${bucket}${s.labels}${this.les[i]}${cumulative}`;
        lines +=
          open && s.buckets[i] > 0
            ? `${exemplarText(s.exemplarTraces[i], s.exemplarValues[i], s.exemplarTimes[i])}\n`
            : '\n';
      }
      out.push(
        `${lines}${duration.name}_sum{${s.labels}} ${s.sum}\n${duration.name}_count{${s.labels}} ${s.count}\n`,
      );
    }
    endSlice();
    return slices;
  }

  private createEntry(
    statuses: Map<number | string, Entry>,
    key: number | string,
    method: string,
    route: string,
    statusCode: number,
    errorType: string | null,
  ): Entry {
    // Methods are a closed set; routes are templates from code (or UNMATCHED), never raw paths.
    const base = `method="${HTTP_METHODS.has(method) ? method : OTHER}",route="${escapeLabelValue(route)}"`;
    let routeSeries = this.routes.get(base);
    if (routeSeries === undefined) {
      routeSeries = {
        labels: base,
        requests: 0,
        errors: 0,
        serverErrors: 0,
        lastError: noEvent(),
        lastServerError: noEvent(),
      };
      this.routes.set(base, routeSeries);
    }
    const withStatus = `${base},status_code="${statusCode}"`;
    let duration = this.durations.get(withStatus);
    if (duration === undefined) {
      const slots = this.les.length;
      duration = {
        labels: withStatus,
        buckets: new Float64Array(slots),
        exemplarTraces: new Array<string | undefined>(slots).fill(undefined),
        exemplarValues: new Float64Array(slots),
        exemplarTimes: new Float64Array(slots),
        sum: 0,
        count: 0,
      };
      this.durations.set(withStatus, duration);
    }
    let typeSeries: ErrorTypeSeries | null = null;
    if (errorType !== null) {
      const labels = `${withStatus},error_type="${escapeLabelValue(errorType)}"`;
      typeSeries = this.errorTypes.get(labels) ?? null;
      if (typeSeries === null) {
        typeSeries = { labels, count: 0, last: noEvent() };
        this.errorTypes.set(labels, typeSeries);
      }
    }
    const entry: Entry = { route: routeSeries, duration, errorType: typeSeries };
    statuses.set(key, entry);
    return entry;
  }
}

function noEvent(): Exemplar {
  return { traceId: undefined, value: 0, time: 0 };
}

function mark(exemplar: Exemplar, traceId: string | undefined, now: number): void {
  exemplar.traceId = traceId;
  exemplar.value = 1;
  exemplar.time = now;
}

/** ` # {trace_id="..."} <value> <timestamp>`: an OpenMetrics exemplar (an empty label set without a trace). */
function exemplarText(traceId: string | undefined, value: number, timeMs: number): string {
  return ` # {${traceId === undefined ? '' : `trace_id="${traceId}"`}} ${value} ${timeMs / 1000}`;
}

function exemplarOf(exemplar: Exemplar): string {
  return exemplar.time === 0 ? '' : exemplarText(exemplar.traceId, exemplar.value, exemplar.time);
}

function noExemplar(): string {
  return '';
}
