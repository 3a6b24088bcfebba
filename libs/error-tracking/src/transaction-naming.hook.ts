import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import * as Sentry from '@sentry/nestjs';
import type { FastifyInstance } from 'fastify';
import { sentryMode } from '@app/sentry';

/**
 * In tracing mode, names each request's transaction by its route template (`GET /api/workflows/:id`), as
 * Sentry's HTTP instrumentation would otherwise name it by the raw URL: one name per id, useless for grouping.
 * Registered only in tracing mode, so errors-only costs nothing per request.
 */
@Injectable()
export class TransactionNamingHook implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    if (sentryMode() !== 'tracing') return;
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, _reply, done) => {
      const span = Sentry.getActiveSpan();
      if (span) {
        const route = request.routeOptions.url ?? 'UNMATCHED';
        const root = Sentry.getRootSpan(span);
        Sentry.updateSpanName(root, `${request.method} ${route}`);
        root.setAttribute('http.route', route);
      }
      done();
    });
  }
}
