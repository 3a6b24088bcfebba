import { Global, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { AppLogger, ERROR_REPORTER } from '@app/logging';
import { modeFor, onDeliveryStateChange, sentryMode } from '@app/sentry';
import { ErrorTracker } from './error-tracker.service';
import { FatalErrorHandler } from './fatal-error.handler';
import { RequestTracingHooks } from './request-tracing.hooks';

/**
 * Sentry error reporting for Nest: ErrorTracker, the reporter behind AppLogger, request tracing hooks, shutdown
 * flush. Dropped reports are counted by MetricsModule's error_reports_dropped_total.
 */
@Global()
@Module({
  providers: [
    ErrorTracker,
    FatalErrorHandler,
    RequestTracingHooks,
    { provide: ERROR_REPORTER, useExisting: ErrorTracker },
  ],
  exports: [ErrorTracker, FatalErrorHandler, RequestTracingHooks, ERROR_REPORTER],
})
export class ErrorTrackingModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
    private readonly tracker: ErrorTracker,
  ) {}

  onApplicationBootstrap(): void {
    const mode = sentryMode();
    const wanted = modeFor(this.config);
    const line =
      mode === 'off'
        ? wanted === 'off'
          ? 'Sentry off (SENTRY_DSN unset): errors are logged, not reported'
          : 'Sentry off: SENTRY_DSN is set but instrument.ts did not start Sentry'
        : mode === 'errors'
          ? 'Sentry on, errors only (SENTRY_TRACES_SAMPLE_RATE unset): no per-request work'
          : `Sentry on, tracing ${(this.config.sentryTracesSampleRate ?? 0) * 100} % of requests`;
    this.logger.info({ sentry: mode }, line);
    // Warn, not error: an error line would itself be reported to the ingest that is failing.
    onDeliveryStateChange((working, reason) => {
      if (working) this.logger.info('Sentry: error reports are delivered again');
      else
        this.logger.warn(
          { reason },
          'Sentry: error reports are not being delivered; they are dropped and counted in terra_constellata_error_reports_dropped_total until delivery works again',
        );
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.tracker.enabled && !(await this.tracker.flush())) {
      this.logger.warn('Sentry: pending events were not all sent before the shutdown timeout');
    }
  }
}
