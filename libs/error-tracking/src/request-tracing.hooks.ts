import { Injectable } from '@nestjs/common';
import * as Sentry from '@sentry/nestjs';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { routeOf } from '@app/common';
import { AppConfig } from '@app/config';
import { sentryMode } from '@app/sentry';

const SPAN = Symbol('terra_constellata.span');
type TracedRequest = FastifyRequest & { [SPAN]?: Sentry.Span };
type Hook = (request: TracedRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/**
 * Request transactions in tracing mode, as Fastify hooks registered by the request pipeline. The sampling
 * decision comes first (an upstream service's, from its sentry-trace header, or SENTRY_TRACES_SAMPLE_RATE): an
 * unsampled request does no Sentry work at all. A sampled one gets a root span named by its route template
 * (`GET /api/workflows/:id`), active for the whole request so database queries become its child spans, and
 * ended with the response status. Sentry's own HTTP and Nest instrumentation do this work for every request and
 * cost most of the throughput (bench/README.md). Both hooks are undefined when tracing is off.
 */
@Injectable()
export class RequestTracingHooks {
  readonly onRequest: Hook | undefined;
  readonly onResponse: Hook | undefined;

  constructor(config: AppConfig) {
    if (sentryMode() !== 'tracing') return;
    const rate = config.sentryTracesSampleRate ?? 0;

    this.onRequest = (request, _reply, done) => {
      const upstream = request.headers['sentry-trace'];
      const decided = typeof upstream === 'string' && /-[01]$/.test(upstream);
      if (!(decided ? upstream.endsWith('-1') : Math.random() < rate)) return done();
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
        request[SPAN] = span;
        Sentry.withActiveSpan(span, () => done());
      };
      if (decided) {
        const baggage = request.headers.baggage;
        Sentry.continueTrace(
          { sentryTrace: upstream, baggage: typeof baggage === 'string' ? baggage : undefined },
          start,
        );
      } else {
        start();
      }
    };

    this.onResponse = (request, reply, done) => {
      const span = request[SPAN];
      if (span) {
        Sentry.setHttpStatus(span, reply.statusCode);
        span.end();
      }
      done();
    };
  }
}
