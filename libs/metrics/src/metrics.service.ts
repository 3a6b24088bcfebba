import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getToken } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import { METRIC_PREFIX, REQUEST_DURATION_BUCKETS } from './metrics.constants';
import { METRICS } from './metrics.providers';
import { RequestMetrics } from './request-metrics';

/**
 * Owns this app's Prometheus registry: prom-client's default process metrics, the per-request families and every
 * metric declared in metrics.providers.ts. Nothing is registered on prom-client's global registry, so two apps
 * (or two test modules) in one process never collide.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  readonly registry = new Registry();

  private readonly requests: RequestMetrics;

  constructor(private readonly moduleRef: ModuleRef) {
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    this.requests = new RequestMetrics({
      requests: {
        name: `${METRIC_PREFIX}requests_total`,
        help: 'HTTP requests answered, by method and route template (status codes: request_duration_seconds_count).',
      },
      duration: {
        name: `${METRIC_PREFIX}request_duration_seconds`,
        help: 'Time from receiving a request to finishing its response, in seconds, by method, route and status code.',
        buckets: REQUEST_DURATION_BUCKETS,
      },
      errors: {
        name: `${METRIC_PREFIX}errors_total`,
        help: 'Responses with status >= 400, by method and route template: the same labels as requests_total.',
      },
      errorTypes: {
        name: `${METRIC_PREFIX}errors_by_type_total`,
        help: 'Responses with status >= 400, by method, route, status code and the exception class behind them.',
      },
    });
  }

  // Once every provider exists: the declared metrics are providers of this module like this service.
  onModuleInit(): void {
    for (const name of Object.values(METRICS)) {
      this.registry.registerMetric(this.moduleRef.get<Metric>(getToken(name), { strict: true }));
    }
  }

  /** Records one finished HTTP request; called once per response from Fastify's onResponse hook. */
  recordRequest(
    method: string,
    route: string,
    statusCode: number,
    seconds: number,
    errorType: string | null,
  ): void {
    this.requests.record(method, route, statusCode, seconds, errorType);
  }

  /** The exposition in the text format Prometheus asks for, as pieces to send one after another. */
  async scrape(): Promise<{ contentType: string; chunks: string[] }> {
    // The request families first: they render in slices, the rest is small.
    const requests = await this.requests.renderSlices();
    return { contentType: this.registry.contentType, chunks: [...requests, await this.registry.metrics()] };
  }
}
