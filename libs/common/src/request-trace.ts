/**
 * The W3C trace identity of one request, set once in the first onRequest hook and read by the logger, the
 * metrics recorder (exemplars) and the error tracker. It lives here, below all three, so none of them depends on
 * another to find it.
 */
export interface RequestTrace {
  /** 32 lowercase hex digits: the caller's trace when it sent one, else a new trace. */
  readonly traceId: string;
  /** 16 lowercase hex digits: this service's span of the request (Sentry's span when the request is sampled). */
  readonly spanId: string;
  /** The caller's span, when it sent one. */
  readonly parentSpanId: string | undefined;
  /** Whether the request is traced in Sentry (a transaction exists for it). */
  readonly sampled: boolean;
}

const TRACE = Symbol('terra_constellata.trace');
type Traced = { [TRACE]?: RequestTrace };

/** Attaches the trace to a request object (Fastify's request). */
export function setRequestTrace(request: object, trace: RequestTrace): void {
  (request as Traced)[TRACE] = trace;
}

/** The trace of a request object, or undefined before the tracing hook ran. */
export function requestTraceOf(request: object): RequestTrace | undefined {
  return (request as Traced)[TRACE];
}

/** Version 00 of the W3C `traceresponse` header: the trace, this service's span, the sampled flag. */
export function traceresponseOf(trace: RequestTrace): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.sampled ? '01' : '00'}`;
}

/** What the service writes in `traceresponse`. */
export const TRACERESPONSE_PATTERN = '^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$';
