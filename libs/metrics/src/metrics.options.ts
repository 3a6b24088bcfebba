import { ConfigurableModuleBuilder } from '@nestjs/common';

/** The closed label sets of the business metrics; values outside them are counted as `other`. */
export interface MetricsModuleOptions {
  workflowTypes: readonly string[];
  artworkStyles: readonly string[];
  feedbackTargetTypes: readonly string[];
  feedbackCategories: readonly string[];
}

export const {
  ConfigurableModuleClass: MetricsConfigurableModule,
  MODULE_OPTIONS_TOKEN: METRICS_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<MetricsModuleOptions>()
  .setClassMethodName('forRoot')
  // Global: feature modules record business events, and PrometheusModule's controller needs MetricsService.
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
