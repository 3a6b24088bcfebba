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

/** Why an envelope was not delivered: the label of error_reports_dropped_total. */
export const DROP_REASONS = ['queue_full', 'network', 'timeout', 'rejected'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Sends given up on (timed out) whose request may still be open; past this, new ones are dropped. */
const MAX_ABANDONED = 1000;

let mode: SentryMode = 'off';
const dropped: Record<DropReason, number> = { queue_full: 0, network: 0, timeout: 0, rejected: 0 };
let delivering = true;
let deliveryListener: ((working: boolean, reason: DropReason | undefined) => void) | undefined;

/** The mode Sentry was started in by initSentry(). */
export function sentryMode(): SentryMode {
  return mode;
}

/** Envelopes not delivered since the process started, by reason. */
export function droppedErrorReports(): Readonly<Record<DropReason, number>> {
  return dropped;
}

/**
 * Told once when delivery starts failing (with the first reason) and once when an envelope is delivered again,
 * so an outage of the ingest is two log lines, not one per event.
 */
export function onDeliveryStateChange(
  listener: (working: boolean, reason: DropReason | undefined) => void,
): void {
  deliveryListener = listener;
}

function drop(reason: DropReason): void {
  dropped[reason]++;
  if (!delivering) return;
  delivering = false;
  deliveryListener?.(false, reason);
}

function delivered(): void {
  if (delivering) return;
  delivering = true;
  deliveryListener?.(true, undefined);
}

export function modeFor(config: AppConfig): SentryMode {
  if (!config.sentryDsn) return 'off';
  return config.sentryTracesSampleRate !== undefined && config.sentryTracesSampleRate > 0
    ? 'tracing'
    : 'errors';
}

// A slow, hung or dead ingest must not hold memory without bound, slow anything down or stop delivery after
// it recovers: past SENTRY_MAX_IN_FLIGHT envelopes in flight new ones are dropped; a send with no answer within
// the send timeout frees its slot; every envelope not delivered is counted with its reason.
function boundedTransport(sendTimeoutMs: number) {
  return (options: Parameters<typeof Sentry.makeNodeTransport>[0]) => {
    const inner = Sentry.makeNodeTransport(options);
    let inFlight = 0;
    let abandoned = 0;
    return {
      send: (envelope: Parameters<typeof inner.send>[0]) => {
        if (inFlight >= SENTRY_MAX_IN_FLIGHT || abandoned >= MAX_ABANDONED) {
          drop('queue_full');
          return Promise.resolve({});
        }
        inFlight++;
        return new Promise<Awaited<ReturnType<typeof inner.send>>>((resolve) => {
          let settled = false;
          const settle = (reason: DropReason | undefined, result: Awaited<ReturnType<typeof inner.send>>) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            inFlight--;
            if (reason) drop(reason);
            else delivered();
            resolve(result);
          };
          const timer = setTimeout(() => {
            // The request may still be open: it stays counted as abandoned until it ends one way or another.
            abandoned++;
            settle('timeout', {});
            void sending.finally(() => abandoned--);
          }, sendTimeoutMs);
          timer.unref();
          const sending = Promise.resolve(inner.send(envelope)).then(
            (response) => {
              // No status: Sentry's transport did not send it, because the ingest asked it to wait (a 429 or
              // its rate-limit header earlier): the ingest's refusal all the same.
              const status = response?.statusCode;
              settle(status === undefined || status >= 400 ? 'rejected' : undefined, response);
            },
            () => settle('network', {}),
          );
        });
      },
      flush: (timeout?: number) => inner.flush(timeout),
    };
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
    transport: boundedTransport(config.sentrySendTimeoutMs),
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
