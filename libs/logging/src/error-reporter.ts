/** What a report to the error tracker carries besides the error itself. */
export interface ErrorReport {
  requestId?: string;
  userId?: string;
  route?: string;
  method?: string;
  errorType?: string;
  level?: 'fatal' | 'error' | 'warning';
  extra?: Record<string, unknown>;
}

/** Implemented by the error tracker (Sentry); AppLogger reports through it when one is provided. */
export interface ErrorReporter {
  captureError(error: unknown, report: ErrorReport): void;
  captureMessage(message: string, report: ErrorReport): void;
}

/** Injection token of the optional ErrorReporter; provided by ErrorTrackingModule. */
export const ERROR_REPORTER = Symbol('ERROR_REPORTER');
