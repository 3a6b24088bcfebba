import * as Sentry from '@sentry/nestjs';
import type { AppConfig } from '@app/config';
import { scrubEvent } from './scrub-event';

export type SentryMode = 'off' | 'errors' | 'tracing';

/**
 * Envelopes being sent at once; beyond this, new ones are dropped and counted, never queued without bound.
 * Large enough for a burst against a healthy ingest (100 failures at once all arrive), small enough to
 * bound memory (a few MB) when the ingest hangs.
 */
export const SENTRY_MAX_IN_FLIGHT = 200;

/** How long shutdown waits for pending events. */
export const SENTRY_FLUSH_TIMEOUT_MS = 2000;

let mode: SentryMode = 'off';
let dropped = 0;

/** The mode Sentry was started in by initSentry(). */
export function sentryMode(): SentryMode {
  return mode;
}

/** Envelopes dropped because the ingest was too slow or down (the transport's queue was full). */
export function droppedErrorReports(): number {
  return dropped;
}

export function modeFor(config: AppConfig): SentryMode {
  if (!config.sentryDsn) return 'off';
  return config.sentryTracesSampleRate !== undefined && config.sentryTracesSampleRate > 0
    ? 'tracing'
    : 'errors';
}

// A slow or dead ingest must not hold memory without bound or slow anything down: past SENTRY_MAX_IN_FLIGHT
// envelopes in flight, new ones are dropped and counted.
function boundedTransport(options: Parameters<typeof Sentry.makeNodeTransport>[0]) {
  const inner = Sentry.makeNodeTransport(options);
  let inFlight = 0;
  return {
    send: (envelope: Parameters<typeof inner.send>[0]) => {
      if (inFlight >= SENTRY_MAX_IN_FLIGHT) {
        dropped++;
        return Promise.resolve({});
      }
      inFlight++;
      return Promise.resolve(inner.send(envelope)).finally(() => inFlight--);
    },
    flush: (timeout?: number) => inner.flush(timeout),
  };
}

/**
 * Sentry's options for this service. Errors-only (the default) keeps only what error events need and does no
 * per-request work: events are captured by the exception filter with the request's data on their own scope.
 * Tracing adds OpenTelemetry and the PostgreSQL instrumentation; requests are traced by RequestTracingHook.
 */
export function buildSentryOptions(config: AppConfig): Sentry.NodeOptions {
  const tracing = modeFor(config) === 'tracing';
  const errorIntegrations = [
    Sentry.eventFiltersIntegration(),
    Sentry.functionToStringIntegration(),
    Sentry.linkedErrorsIntegration(),
    // No dedupeIntegration: it drops an error equal to the previous one, so 100 users hitting one bug would
    // make one report. Sentry groups them itself, and the exception filter reports each error once.
    Sentry.requestDataIntegration(),
    Sentry.contextLinesIntegration(),
    Sentry.nodeContextIntegration(),
  ];
  // Request transactions are started by RequestTracingHook (@app/error-tracking), for sampled requests only;
  // Sentry's HTTP and Nest integrations would do per-request work for every request (bench/README.md).
  const tracingIntegrations = [Sentry.postgresIntegration()];
  return {
    dsn: config.sentryDsn,
    environment: config.environment,
    release: config.releaseVersion,
    sendDefaultPii: false,
    defaultIntegrations: false,
    integrations: tracing ? [...errorIntegrations, ...tracingIntegrations] : errorIntegrations,
    // Unset rather than 0 when off: a rate of 0 still runs the tracing machinery, and measured slower.
    // RequestTracingHook samples before it starts a transaction, so every transaction started is kept.
    ...(tracing ? { tracesSampleRate: 1 } : {}),
    transport: boundedTransport,
    // bufferSize above our own bound, so that ours decides and counts what is dropped. keepAlive: Sentry's
    // transport opens a connection (and a TLS handshake) per envelope by default, which in tracing mode is
    // one per sampled request.
    transportOptions: { bufferSize: SENTRY_MAX_IN_FLIGHT + 50, keepAlive: true },
    beforeSend: (event) => scrubEvent(event),
    beforeSendTransaction: (event) => scrubEvent(event),
  };
}

/** Starts Sentry when SENTRY_DSN is set; must run before the HTTP stack is imported (instrument.ts). */
export function initSentry(config: AppConfig): SentryMode {
  if (mode !== 'off') return mode;
  const wanted = modeFor(config);
  if (wanted === 'off') return mode;
  Sentry.init(buildSentryOptions(config));
  mode = wanted;
  return mode;
}
