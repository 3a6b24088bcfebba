export { ErrorTrackingModule } from './error-tracking.module';
export { ErrorTracker, type ErrorContext } from './error-tracker.service';
export { FatalErrorHandler } from './fatal-error.handler';
export { RequestTracingHooks } from './request-tracing.hooks';
