import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { routeOf } from '@app/common';
import { errorTypeFor } from './error-type';
import { MetricsService } from './metrics.service';

/**
 * Records every request in Fastify's onResponse hook: the one place that sees the final status of requests
 * rejected by guards, pipes, the body limit and the router, which an interceptor never sees.
 */
@Injectable()
export class HttpMetricsHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const metrics = this.metrics;
    fastify.addHook('onResponse', (request, reply, done) => {
      const status = reply.statusCode;
      metrics.recordRequest(
        request.method,
        routeOf(request),
        status,
        reply.elapsedTime / 1000,
        status >= 400 ? errorTypeFor(request) : null,
      );
      done();
    });
  }
}
