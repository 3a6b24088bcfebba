import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getToken } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import { METRIC_PREFIX, REQUEST_DURATION_BUCKETS } from './metrics.constants';
import { METRICS } from './metrics.providers';
import { textToOpenMetrics } from './openmetrics';
import { RequestMetrics, type ExpositionFormat } from './request-metrics';

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
      serverErrors: {
        name: `${METRIC_PREFIX}server_errors_total`,
        help: "Responses with status >= 500, by method and route template: 0 from the route's first request.",
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
    traceId?: string,
  ): void {
    this.requests.record(method, route, statusCode, seconds, errorType, traceId);
  }

  /** The exposition in the format asked for, as pieces to send one after another. */
  async scrape(format: ExpositionFormat = 'prometheus'): Promise<{ contentType: string; chunks: string[] }> {
    // The request families first: they render in slices, the rest is small.
    const requests = await this.requests.renderSlices(format);
    const rest = await this.registry.metrics();
    return format === 'openmetrics'
      ? {
          contentType: Registry.OPENMETRICS_CONTENT_TYPE,
          chunks: [...requests, textToOpenMetrics(rest), '# EOF\n'],
        }
      : { contentType: Registry.PROMETHEUS_CONTENT_TYPE, chunks: [...requests, rest] };
  }
}
