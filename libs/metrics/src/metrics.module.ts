import { Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { BusinessMetrics } from './business-metrics.service';
import { HttpMetricsHooks } from './http-metrics.hooks';
import { MetricCollectors } from './metric-collectors';
import { MetricsController } from './metrics.controller';
import { MetricsTokenGuard } from './metrics-token.guard';
import { MetricsConfigurableModule } from './metrics.options';
import { METRIC_PROVIDERS } from './metrics.providers';
import { MetricsService } from './metrics.service';
import { ResourceUsage } from './resource-usage';

/**
 * Every metric of the service, declared here (metrics.providers.ts and the request families in MetricsService),
 * on a registry of this app's own, served at GET /metrics by @willsoto/nestjs-prometheus's controller (behind the
 * optional bearer token). Its default metrics would go to prom-client's global registry, so MetricsService
 * collects them itself.
 */
@Module({
  imports: [PrometheusModule.register({ controller: MetricsController, defaultMetrics: { enabled: false } })],
  providers: [
    ...METRIC_PROVIDERS,
    MetricCollectors,
    ResourceUsage,
    MetricsService,
    BusinessMetrics,
    HttpMetricsHooks,
    MetricsTokenGuard,
  ],
  exports: [
    ...METRIC_PROVIDERS,
    MetricCollectors,
    ResourceUsage,
    MetricsService,
    BusinessMetrics,
    HttpMetricsHooks,
  ],
})
export class MetricsModule extends MetricsConfigurableModule {}
