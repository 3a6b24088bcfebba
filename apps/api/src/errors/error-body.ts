import { STATUS_CODES } from 'node:http';
import type { ErrorResponse } from '@app/common';

/**
 * The one builder of the service's error body, `{ statusCode, error, message, request_id }` (plus `details` for
 * a validation error): used by the exception filter, the request deadline and the connection-level answers
 * (timeouts, unparsable requests, CONNECT), so every error a client can get has the same shape.
 */
export function errorBody(
  statusCode: number,
  message: string,
  requestId: string,
  extra: { error?: string; details?: string[] } = {},
): ErrorResponse {
  return {
    statusCode,
    error: extra.error ?? STATUS_CODES[statusCode] ?? 'Error',
    message,
    ...(extra.details ? { details: extra.details } : {}),
    request_id: requestId,
  };
}

/** A whole HTTP/1.1 error answer for a socket that no framework handles, closing the connection. */
export function rawErrorResponse(statusCode: number, message: string, requestId: string): string {
  const body = JSON.stringify(errorBody(statusCode, message, requestId));
  return (
    `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode]}\r\nConnection: close\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}
