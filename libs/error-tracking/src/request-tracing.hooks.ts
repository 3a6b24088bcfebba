import { Injectable } from '@nestjs/common';
import * as Sentry from '@sentry/nestjs';
import { RandomIdGenerator } from '@opentelemetry/sdk-trace-base';
import { generateSentryTraceHeader } from '@sentry/core';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { routeOf, setRequestTrace, traceresponseOf, type RequestTrace } from '@app/common';
import { AppConfig } from '@app/config';
import { sentryMode } from '@app/sentry';
import { incomingTrace } from './trace-context';

const SPAN = Symbol('terra_constellata.span');
type TracedRequest = FastifyRequest & { [SPAN]?: Sentry.Span };
type Hook = (request: TracedRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/**
 * Every request's trace, as Fastify hooks registered by the request pipeline, first of all hooks so that every
 * log line, metric exemplar and Sentry event of the request carries its trace id.
 *
 * The trace is the caller's (`sentry-trace`, else W3C `traceparent`) or a new one, whatever the Sentry mode; the
 * response says which in `traceresponse`. In tracing mode the sampling decision comes first (the caller's when
 * its header carries one, parent-based as OpenTelemetry samples; else SENTRY_TRACES_SAMPLE_RATE): an unsampled
 * request does no Sentry work at all. A sampled one gets a root span named by its route template
 * (`GET /api/workflows/:id`), active for the whole request so database queries become its child spans, and
 * ended with the response status. Sentry's own HTTP and Nest instrumentation would do this work for every
 * request and cost most of the throughput (bench/README.md). onResponse is undefined unless tracing is on.
 */
@Injectable()
export class RequestTracingHooks {
  readonly onRequest: Hook;
  readonly onResponse: Hook | undefined;

  constructor(config: AppConfig) {
    const tracing = sentryMode() === 'tracing';
    const rate = config.sentryTracesSampleRate ?? 0;
    // OpenTelemetry's default id generator: 0.6 µs for both ids here, against 1.4 µs for Sentry's (a UUID with
    // its dashes removed, twice), on every request.
    const ids = new RandomIdGenerator();

    const untraced = (
      request: TracedRequest,
      reply: FastifyReply,
      traceId: string,
      parentSpanId?: string,
    ) => {
      const trace: RequestTrace = { traceId, spanId: ids.generateSpanId(), parentSpanId, sampled: false };
      setRequestTrace(request, trace);
      void reply.header('traceresponse', traceresponseOf(trace));
    };

    this.onRequest = (request, reply, done) => {
      const incoming = incomingTrace(request.headers);
      if (!tracing || !(incoming?.sampled ?? Math.random() < rate)) {
        untraced(request, reply, incoming?.traceId ?? ids.generateTraceId(), incoming?.parentSpanId);
        return done();
      }
      const route = routeOf(request);
      const start = () => {
        const span = Sentry.startInactiveSpan({
          name: `${request.method} ${route}`,
          op: 'http.server',
          forceTransaction: true,
          attributes: {
            [Sentry.SEMANTIC_ATTRIBUTE_SENTRY_SOURCE]: 'route',
            [Sentry.SEMANTIC_ATTRIBUTE_SENTRY_ORIGIN]: 'auto.http.terra_constellata',
            'http.route': route,
            'http.request.method': request.method,
          },
        });
        const { traceId, spanId } = span.spanContext();
        const trace: RequestTrace = { traceId, spanId, parentSpanId: incoming?.parentSpanId, sampled: true };
        setRequestTrace(request, trace);
        void reply.header('traceresponse', traceresponseOf(trace));
        request[SPAN] = span;
        Sentry.withActiveSpan(span, () => done());
      };
      if (!incoming) return start();
      // Sentry continues a trace from its own header; a W3C parent is handed over in that form, sampled, since
      // the decision to sample was made above.
      const baggage = request.headers.baggage;
      Sentry.continueTrace(
        {
          sentryTrace: generateSentryTraceHeader(incoming.traceId, incoming.parentSpanId, true),
          baggage: typeof baggage === 'string' ? baggage : undefined,
        },
        start,
      );
    };

    this.onResponse = tracing
      ? (request, reply, done) => {
          const span = request[SPAN];
          if (span) {
            Sentry.setHttpStatus(span, reply.statusCode);
            span.end();
          }
          done();
        }
      : undefined;
  }
}
