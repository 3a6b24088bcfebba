import { Injectable } from '@nestjs/common';
import * as Sentry from '@sentry/nestjs';
import { redactDeep } from '@app/common';
import { RequestContextService, type ErrorReport, type ErrorReporter } from '@app/logging';
import { SENTRY_FLUSH_TIMEOUT_MS } from '@app/sentry';

export type ErrorContext = ErrorReport & { tags?: Record<string, string> };

/**
 * Reports errors to Sentry. Each event is built on its own scope with its request's id, trace, route, method and
 * user, so concurrent requests never lend each other their data; nothing is done for requests that succeed.
 */
@Injectable()
export class ErrorTracker implements ErrorReporter {
  constructor(private readonly context: RequestContextService) {}

  get enabled(): boolean {
    return Sentry.isEnabled();
  }

  /** Reports an exception; returns the Sentry event id, or undefined when Sentry is off. */
  captureError(error: unknown, context: ErrorContext = {}): string | undefined {
    if (!this.enabled) return undefined;
    return Sentry.withScope((scope) => {
      this.decorate(scope, context);
      return Sentry.captureException(error);
    });
  }

  /** Reports a message (structured error data that is not an exception). */
  captureMessage(message: string, context: ErrorContext = {}): string | undefined {
    if (!this.enabled) return undefined;
    return Sentry.withScope((scope) => {
      this.decorate(scope, context);
      return Sentry.captureMessage(message, context.level ?? 'error');
    });
  }

  /** The user of the current request (its later errors and log lines name them), or of the process outside one. */
  setUser(user: { id: string }): void {
    if (this.context.requestId !== undefined) this.context.setUserId(user.id);
    else Sentry.setUser({ id: user.id });
  }

  /** Sends what is pending; false if the timeout passed first. */
  flush(timeoutMs = SENTRY_FLUSH_TIMEOUT_MS): Promise<boolean> {
    return this.enabled ? Sentry.flush(timeoutMs) : Promise.resolve(true);
  }

  // A report made inside a request names it even when the caller did not.
  private decorate(scope: Sentry.Scope, context: ErrorContext): void {
    const requestId = context.requestId ?? this.context.requestId;
    const userId = context.userId ?? this.context.userId;
    if (requestId) scope.setTag('request_id', requestId);
    // The request's trace, in errors-only mode and for unsampled requests too: the event's trace id is the one
    // in the request's log lines and traceresponse. (A sampled request's active span carries the same ids.)
    const trace = this.context.trace;
    if (trace && (context.requestId === undefined || context.requestId === this.context.requestId))
      scope.setPropagationContext({
        traceId: trace.traceId,
        parentSpanId: trace.parentSpanId,
        propagationSpanId: trace.spanId,
        sampled: trace.sampled,
        sampleRand: Math.random(),
      });
    if (context.route) scope.setTag('route', context.route);
    if (context.method) scope.setTag('method', context.method);
    if (context.errorType) scope.setTag('error_type', context.errorType);
    if (context.tags) scope.setTags(context.tags);
    if (userId) scope.setUser({ id: userId });
    if (context.level) scope.setLevel(context.level);
    if (context.extra && Object.keys(context.extra).length > 0) scope.setExtras(redactDeep(context.extra));
    if (context.route && context.method) scope.setTransactionName(`${context.method} ${context.route}`);
  }
}
