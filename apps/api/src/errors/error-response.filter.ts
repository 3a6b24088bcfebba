import {
  Catch,
  HttpException,
  HttpStatus,
  MethodNotAllowedException,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { routeOf, UNMATCHED_ROUTE, type ErrorResponse } from '@app/common';
import { AppConfig } from '@app/config';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '@app/database';
import { AppLogger } from '@app/logging';
import { recordErrorType } from '@app/metrics';
import { allowedMethods } from '../http/allowed-methods';
import { errorBody } from './error-body';

/** The error body: the documented ErrorResponse schema is the one type of it. */
type ErrorBody = ErrorResponse;

interface StatusError {
  statusCode: number;
  message: string;
}

// Fastify's own errors (body too large, bad JSON, unsupported media type) carry their status; trust 4xx only.
function isClientStatusError(error: unknown): error is StatusError {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function errorName(exception: unknown): string {
  return exception instanceof Error ? exception.constructor.name : typeof exception;
}

function errorMessage(exception: unknown): string {
  return exception instanceof Error ? exception.message : String(exception);
}

/**
 * The catch-all exception filter: every exception a request raises (HttpExceptions and anything else) becomes the
 * service's error body (error-body.ts); a 503 is logged at warn, any other 5xx logged and reported once.
 */
@Catch()
export class ErrorResponseFilter implements ExceptionFilter {
  constructor(
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  catch(caught: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const exception = this.methodNotAllowed(caught, request, reply) ?? caught;
    const unavailable = isDatabaseUnavailable(exception);
    const body = unavailable
      ? this.unavailableBody(String(request.id))
      : this.toBody(exception, String(request.id));
    recordErrorType(request, exception);
    const where = { request_id: body.request_id, method: request.method, route: routeOf(request) };
    if (body.statusCode === 503) {
      // The service cannot serve now (database down or too slow, write queue full): an expected state with its
      // own health check, alert and log lines, not a bug to report once per request.
      void reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
      this.logger.warn(
        { ...where, error_type: errorName(exception), reason: errorMessage(exception).slice(0, 500) },
        'Service unavailable: answered 503',
      );
    } else if (body.statusCode >= 500) {
      this.logger.logException(
        exception,
        `Unhandled ${errorName(exception)}: ${errorMessage(exception)}`,
        where,
      );
    }
    void reply
      .status(body.statusCode)
      .header('content-type', 'application/json; charset=utf-8')
      // A HEAD answer has no body: one here would be read by a kept-alive client as the next response.
      .send(request.method === 'HEAD' ? undefined : body);
  }

  // The router's 404 for a path that exists with other methods is a 405 naming them (RFC 9110, 15.5.6).
  private methodNotAllowed(
    exception: unknown,
    request: FastifyRequest,
    reply: FastifyReply,
  ): MethodNotAllowedException | undefined {
    if (!(exception instanceof HttpException) || exception.getStatus() !== 404) return undefined;
    if (routeOf(request) !== UNMATCHED_ROUTE) return undefined;
    const allowed = allowedMethods(request);
    if (allowed.length === 0) return undefined;
    void reply.header('allow', allowed.join(', '));
    return new MethodNotAllowedException(`${request.method} is not allowed here; use ${allowed.join(', ')}`);
  }

  private unavailableBody(requestId: string): ErrorBody {
    return errorBody(
      HttpStatus.SERVICE_UNAVAILABLE,
      `The database is unavailable or too slow; retry after ${DATABASE_RETRY_AFTER_SECONDS} seconds`,
      requestId,
    );
  }

  private toBody(exception: unknown, requestId: string): ErrorBody {
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      const fromResponse =
        typeof response === 'object' && response !== null ? (response as Partial<ErrorBody>) : {};
      // Nest's not-found handler says "Cannot GET /path?query": the query string can carry tokens.
      if (
        statusCode === 404 &&
        typeof fromResponse.message === 'string' &&
        fromResponse.message.startsWith('Cannot ')
      ) {
        fromResponse.message = fromResponse.message.replace(/\?.*$/s, '');
      }
      // Thrown on purpose (a 503 included), so its message is meant for the client. Nest's validation gives a
      // list: one string for people, and the list itself as details for programs.
      const message: unknown = fromResponse.message ?? exception.message;
      const details = Array.isArray(message) ? message.map(String) : undefined;
      return errorBody(statusCode, details ? details.join('; ') : String(message), requestId, {
        error: fromResponse.error,
        details,
      });
    }
    if (isClientStatusError(exception)) {
      return errorBody(exception.statusCode, exception.message, requestId);
    }
    const body: ErrorBody = errorBody(HttpStatus.INTERNAL_SERVER_ERROR, 'Internal server error', requestId);
    // Stacks help a developer at the desk; in production they would tell an attacker about the code.
    // Development only: staging is production's rehearsal and answers as production does.
    if (this.config.environment === 'development' && exception instanceof Error) body.stack = exception.stack;
    return body;
  }
}
