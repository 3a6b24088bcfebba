import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { requestTraceOf, routeOf } from '@app/common';
import { errorTypeFor } from './error-type';
import { MetricsService } from './metrics.service';

/**
 * Records every request in Fastify's onResponse hook (registered by the request pipeline): the one place that
 * sees the final status of requests rejected by guards, pipes, the body limit and the router, which an
 * interceptor never sees.
 */
@Injectable()
export class HttpMetricsHooks {
  constructor(private readonly metrics: MetricsService) {}

  readonly onResponse = (
    request: FastifyRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): void => {
    const status = reply.statusCode;
    this.metrics.recordRequest(
      request.method,
      routeOf(request),
      status,
      reply.elapsedTime / 1000,
      status >= 400 ? errorTypeFor(request) : null,
      requestTraceOf(request)?.traceId,
    );
    done();
  };
}
