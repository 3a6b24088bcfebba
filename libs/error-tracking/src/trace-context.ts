import type { IncomingHttpHeaders } from 'node:http';
import { parseTraceParent } from '@opentelemetry/core';
import { extractTraceparentData } from '@sentry/core';

/** The trace a caller asked this request to join. */
export interface IncomingTrace {
  traceId: string;
  parentSpanId: string;
  /** The caller's sampling decision; undefined when its header carried none (this service decides). */
  sampled: boolean | undefined;
}

/**
 * The caller's trace from `sentry-trace` (Sentry SDKs, which also send `baggage`) or else W3C `traceparent`
 * (OpenTelemetry, ingresses, gateways), parsed by Sentry's and OpenTelemetry's own parsers. A header sent twice
 * or malformed is ignored, and the request starts a trace of its own. `tracestate` and `baggage` are accepted
 * and need no parsing here: the service calls no other service (Sentry's ingest aside), so there is nothing to
 * pass them on to, and `baggage` reaches Sentry through continueTrace when the request is sampled.
 */
export function incomingTrace(headers: IncomingHttpHeaders): IncomingTrace | undefined {
  const sentry = headers['sentry-trace'];
  if (typeof sentry === 'string') {
    const data = extractTraceparentData(sentry);
    if (data?.traceId && data.parentSpanId)
      return { traceId: data.traceId, parentSpanId: data.parentSpanId, sampled: data.parentSampled };
  }
  const w3c = headers.traceparent;
  if (typeof w3c === 'string') {
    const context = parseTraceParent(w3c);
    // The sampled flag is bit 0 of trace-flags.
    if (context)
      return {
        traceId: context.traceId,
        parentSpanId: context.spanId,
        sampled: (context.traceFlags & 1) === 1,
      };
  }
  return undefined;
}
