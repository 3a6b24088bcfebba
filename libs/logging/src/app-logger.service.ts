import { Inject, Injectable, Optional } from '@nestjs/common';
import type { RequestTrace } from '@app/common';
import { ERROR_REPORTER, type ErrorReport, type ErrorReporter } from './error-reporter';
import { ROOT_LOGGER } from './logging.tokens';
import type { AppPinoLogger, RootLogger } from './logger.factory';
import { QUIET_ROUTES } from './logging.constants';
import { currentRequestContext } from './request-context';
import type { RequestLineLevel } from './request-line';

type Fields = Record<string, unknown>;

/** Where a response line says the request came from; read from the current request when not given. */
export interface ResponseDetails {
  method?: string;
  route?: string;
  path?: string;
  userId?: string;
  trace?: RequestTrace;
}

/**
 * The service's logger: inject it. Inside a request every line carries the request's `request_id`, `trace_id`,
 * `span_id` and `user_id` (from the request context, without being handed them); outside one, none of them.
 * Besides pino's levels it has the product's helpers; errors logged through it are also reported to the error
 * tracker, once. Secrets are removed from every line by the root logger's hook (logger.factory.ts), whatever
 * method wrote it, and from every report by the error tracker.
 */
@Injectable()
export class AppLogger {
  constructor(
    @Inject(ROOT_LOGGER) private readonly root: RootLogger,
    @Optional() @Inject(ERROR_REPORTER) private readonly reporter?: ErrorReporter,
  ) {}

  trace(fieldsOrMessage: Fields | string, message?: string): void {
    this.write('trace', fieldsOrMessage, message);
  }

  debug(fieldsOrMessage: Fields | string, message?: string): void {
    this.write('debug', fieldsOrMessage, message);
  }

  info(fieldsOrMessage: Fields | string, message?: string): void {
    this.write('info', fieldsOrMessage, message);
  }

  warn(fieldsOrMessage: Fields | string, message?: string): void {
    this.write('warn', fieldsOrMessage, message);
  }

  /** An error line only; use logError / logException to also report it. */
  error(fieldsOrMessage: Fields | string, message?: string): void {
    this.write('error', fieldsOrMessage, message);
  }

  isLevelEnabled(level: string): boolean {
    return this.root.logger.isLevelEnabled(level);
  }

  /** A line saying a request arrived (names its own request, so the current one is not added). */
  logRequest(requestId: string, method: string, path: string, userId?: string): void {
    this.root.logger.info({ request_id: requestId, method, path, user_id: userId }, 'Request received');
  }

  /**
   * The one "API Request" line of a finished request, rendered by the same code as the request pipeline's own
   * line for every request: its level follows the status (debug for probes and scrapes).
   */
  logResponse(
    requestId: string,
    statusCode: number,
    durationSeconds: number,
    details: ResponseDetails = {},
  ): void {
    const route = details.route ?? '';
    const level: RequestLineLevel = QUIET_ROUTES.has(route)
      ? 'debug'
      : statusCode >= 500
        ? 'error'
        : statusCode >= 400
          ? 'warn'
          : 'info';
    const context = currentRequestContext();
    const own = context?.requestId === requestId ? context : undefined;
    const trace = details.trace ?? own?.trace;
    this.root.logRequest(level, {
      requestId,
      traceId: trace?.traceId,
      spanId: trace?.spanId,
      userId: details.userId ?? own?.userId,
      method: details.method ?? '',
      route,
      path: details.path ?? '',
      statusCode,
      durationMs: Math.round(durationSeconds * 100_000) / 100,
    });
  }

  logError(errorType: string, message: string, context: Fields = {}): void {
    const fields = this.withRequest({ ...context, error_type: errorType });
    this.root.logger.error(fields, message);
    this.reporter?.captureMessage(message, { ...this.report(fields), errorType });
  }

  /** An exception with its stack (`err.stack`), for errors.log, and reported to the error tracker. */
  logException(error: unknown, message: string, context: Fields = {}): void {
    const fields = this.withRequest(context);
    this.root.logger.error({ ...fields, err: error }, message);
    this.reporter?.captureError(error, this.report(fields));
  }

  /** A failure that ends the process; written out synchronously, since the process is about to die. */
  logFatal(error: unknown, message: string, context: Fields = {}): void {
    const fields = context;
    this.root.logger.fatal({ ...fields, err: error }, message);
    this.root.flushSync();
    this.reporter?.captureError(error, { ...this.report(fields), level: 'fatal' });
  }

  logBusinessEvent(event: string, data: Fields = {}): void {
    this.root.logger.business(this.withRequest({ ...data, event }), event);
  }

  logMetrics(name: string, value: number, labels: Record<string, string | number> = {}): void {
    this.root.logger.metrics(this.withRequest({ metric: name, value, labels }), `metric ${name}`);
  }

  private write(
    level: 'trace' | 'debug' | 'info' | 'warn' | 'error',
    fields: Fields | string,
    message?: string,
  ): void {
    if (typeof fields === 'string') {
      const logger: AppPinoLogger = currentRequestContext()?.logger ?? this.root.logger;
      logger[level](fields);
      return;
    }
    // Merged into the request's fields rather than written through its child logger, whose bindings pino would
    // write again beside a request_id or user_id the caller passes: one key, once, per line.
    this.root.logger[level](this.withRequest(fields), message);
  }

  private report(fields: Fields): ErrorReport {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the trace reaches Sentry on the event's scope
    const { request_id, user_id, route, method, trace_id, span_id, ...extra } = fields;
    return {
      requestId: request_id as string | undefined,
      userId: user_id as string | undefined,
      route: route as string | undefined,
      method: method as string | undefined,
      extra,
    };
  }

  // The request's fields are merged rather than bound through a child logger, so a context that names its own
  // user_id, request_id or trace_id overrides them instead of writing the key twice in one JSON line.
  private withRequest(own: Fields): Fields {
    const context = currentRequestContext();
    if (!context) return own;
    const trace = context.trace;
    return {
      request_id: context.requestId,
      trace_id: trace?.traceId,
      span_id: trace?.spanId,
      user_id: context.userId,
      ...own,
    };
  }
}
