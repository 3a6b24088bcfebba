export { MetricsModule } from './metrics.module';
export { MetricsService } from './metrics.service';
export { BusinessMetrics } from './business-metrics.service';
export { recordErrorType } from './error-type';
export type { MetricsModuleOptions } from './metrics.options';
export { METRIC_PREFIX, UNMATCHED_ROUTE, OTHER, REQUEST_DURATION_BUCKETS } from './metrics.constants';
export { RequestMetrics } from './request-metrics';
export { HttpMetricsHooks } from './http-metrics.hooks';
