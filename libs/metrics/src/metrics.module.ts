import { Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { BusinessMetrics } from './business-metrics.service';
import { HttpMetricsHooks } from './http-metrics.hooks';
import { MetricsController } from './metrics.controller';
import { MetricsTokenGuard } from './metrics-token.guard';
import { MetricsConfigurableModule } from './metrics.options';
import { MetricsService } from './metrics.service';

/**
 * HTTP, business and system metrics on a registry of this module's own, served at GET /metrics.
 * PrometheusModule only mounts the controller: its default metrics would go to prom-client's global registry.
 */
@Module({
  imports: [PrometheusModule.register({ controller: MetricsController, defaultMetrics: { enabled: false } })],
  providers: [MetricsService, BusinessMetrics, HttpMetricsHooks, MetricsTokenGuard],
  exports: [MetricsService, BusinessMetrics, HttpMetricsHooks],
})
export class MetricsModule extends MetricsConfigurableModule {}
