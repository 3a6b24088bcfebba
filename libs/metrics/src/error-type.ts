import { HttpException } from '@nestjs/common';

const ERROR_TYPE = Symbol('terra_constellata.errorType');

type WithErrorType = { [ERROR_TYPE]?: string };

// Class names and Fastify error codes come from code, not from clients, so the label set stays closed.
function errorTypeOf(exception: unknown): string {
  if (exception instanceof HttpException) return exception.constructor.name;
  if (exception instanceof Error) {
    const code = (exception as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('FST_')) return code;
    return exception.constructor.name;
  }
  return 'UnknownError';
}

/** Called by the exception filter so the response's metrics name the exception class behind its status. */
export function recordErrorType(request: object, exception: unknown): void {
  (request as WithErrorType)[ERROR_TYPE] = errorTypeOf(exception);
}

/** The exception class recorded for this request, or `HttpError` for an error status set without one. */
export function errorTypeFor(request: object): string {
  return (request as WithErrorType)[ERROR_TYPE] ?? 'HttpError';
}
