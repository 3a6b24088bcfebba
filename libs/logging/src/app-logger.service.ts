import { Inject, Injectable, Optional } from '@nestjs/common';
import { ERROR_REPORTER, type ErrorReport, type ErrorReporter } from './error-reporter';
import { ROOT_LOGGER } from './logging.tokens';
import type { AppPinoLogger, RootLogger } from './logger.factory';
import { redactDeep } from '@app/common';
import type { RequestLogContext } from './request-context';

/**
 * The spec's logging helpers. Given a request's context (the `request` argument, from `@RequestLog()`), a
 * line also carries its request_id and user_id. Errors
 * logged here are also reported to the error tracker when one is configured, so each is logged and reported once.
 */
@Injectable()
export class AppLogger {
  constructor(
    @Inject(ROOT_LOGGER) private readonly root: RootLogger,
    @Optional() @Inject(ERROR_REPORTER) private readonly reporter?: ErrorReporter,
  ) {}

  /** The service's pino logger, outside any request. */
  get pino(): AppPinoLogger {
    return this.root.logger;
  }

  /** The request's logger (its lines carry request_id and user_id), or the root without one. */
  for(request: RequestLogContext | undefined): AppPinoLogger {
    return request?.logger ?? this.root.logger;
  }

  // These two name their request explicitly, so they log on the root and do not repeat the bound request_id.
  logRequest(requestId: string, method: string, path: string, userId?: string): void {
    this.root.logger.info({ request_id: requestId, method, path, user_id: userId }, 'Request received');
  }

  logResponse(requestId: string, statusCode: number, durationSeconds: number): void {
    this.root.logger.info(
      {
        request_id: requestId,
        status_code: statusCode,
        duration_ms: Math.round(durationSeconds * 100_000) / 100,
      },
      'Response sent',
    );
  }

  logError(
    errorType: string,
    message: string,
    context: Record<string, unknown> = {},
    request?: RequestLogContext,
  ): void {
    const fields = this.fields({ ...redactDeep(context), error_type: errorType }, request);
    this.root.logger.error(fields, message);
    this.reporter?.captureMessage(message, { ...this.report(fields), errorType });
  }

  /** An exception with its stack (`err.stack`), for errors.log, and reported to the error tracker. */
  logException(
    error: unknown,
    message: string,
    context: Record<string, unknown> = {},
    request?: RequestLogContext,
  ): void {
    const fields = this.fields(redactDeep(context), request);
    this.root.logger.error({ ...fields, err: error }, message);
    this.reporter?.captureError(error, this.report(fields));
  }

  /** A failure that ends the process; written out synchronously, since the process is about to die. */
  logFatal(error: unknown, message: string, context: Record<string, unknown> = {}): void {
    const fields = redactDeep(context);
    this.root.logger.fatal({ ...fields, err: error }, message);
    this.root.flushSync();
    this.reporter?.captureError(error, { ...this.report(fields), level: 'fatal' });
  }

  logBusinessEvent(event: string, data: Record<string, unknown> = {}, request?: RequestLogContext): void {
    this.root.logger.business(this.fields({ ...redactDeep(data), event }, request), event);
  }

  logMetrics(
    name: string,
    value: number,
    labels: Record<string, string | number> = {},
    request?: RequestLogContext,
  ): void {
    this.root.logger.metrics(
      this.fields({ metric: name, value, labels: redactDeep(labels) }, request),
      `metric ${name}`,
    );
  }

  private report(fields: Record<string, unknown>): ErrorReport {
    const { request_id, user_id, route, method, ...extra } = fields;
    return {
      requestId: request_id as string | undefined,
      userId: user_id as string | undefined,
      route: route as string | undefined,
      method: method as string | undefined,
      extra,
    };
  }

  // The request's fields are merged here rather than bound to a child logger, so a context that names its own
  // user_id or request_id overrides them instead of writing the key twice in one JSON line.
  private fields(
    own: Record<string, unknown>,
    request: RequestLogContext | undefined,
  ): Record<string, unknown> {
    if (!request) return own;
    return { request_id: request.requestId, user_id: request.userId, ...own };
  }
}
