import { Inject, Injectable } from '@nestjs/common';
import { ROOT_LOGGER } from './logging.tokens';
import type { AppPinoLogger, RootLogger } from './logger.factory';
import { redactDeep } from './log-redaction';
import { currentRequestContext } from './request-context';

/** The spec's logging helpers; inside a request every line also carries its request_id and user_id. */
@Injectable()
export class AppLogger {
  constructor(@Inject(ROOT_LOGGER) private readonly root: RootLogger) {}

  /** The current request's logger, or the root outside requests. */
  get pino(): AppPinoLogger {
    return currentRequestContext()?.logger ?? this.root.logger;
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

  logError(errorType: string, message: string, context: Record<string, unknown> = {}): void {
    this.root.logger.error(this.fields({ ...redactDeep(context), error_type: errorType }), message);
  }

  /** An exception with its stack (`err.stack`), for errors.log. */
  logException(error: unknown, message: string, context: Record<string, unknown> = {}): void {
    this.root.logger.error(this.fields({ ...redactDeep(context), err: error }), message);
  }

  logBusinessEvent(event: string, data: Record<string, unknown> = {}): void {
    this.root.logger.business(this.fields({ ...redactDeep(data), event }), event);
  }

  logMetrics(name: string, value: number, labels: Record<string, string | number> = {}): void {
    this.root.logger.metrics(
      this.fields({ metric: name, value, labels: redactDeep(labels) }),
      `metric ${name}`,
    );
  }

  // The request's fields are merged here rather than bound to a child logger, so a context that names its own
  // user_id or request_id overrides them instead of writing the key twice in one JSON line.
  private fields(own: Record<string, unknown>): Record<string, unknown> {
    const request = currentRequestContext();
    if (!request) return own;
    return { request_id: request.requestId, user_id: request.userId, ...own };
  }
}
