import { applyDecorators } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiHeader, ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
// @nestjs/swagger exports these OpenAPI types only from its dist folder; a type-only import, so the typecheck in
// `npm test` fails the day they move.
import type { HeaderObject, SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { TRACERESPONSE_PATTERN } from './request-trace';

/** Request ids, idempotency keys: what the service accepts in its headers. */
export const TOKEN_PATTERN = '^[A-Za-z0-9._:-]{1,128}$';

/** The one error body of the service (the global exception filter writes it). */
export class ErrorResponse {
  @ApiProperty({ example: 400, minimum: 400, maximum: 599, type: 'integer' })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request', description: 'The status text' })
  error!: string;

  @ApiProperty({
    example: 'rating: rating must not be greater than 5',
    description: 'One line for people; for a validation error, the details joined with "; "',
  })
  message!: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['rating: rating must not be greater than 5'],
    description:
      'Validation errors only: each invalid field and why, as "<field>: <reason>"; at most 20, then one entry ' +
      'counting the rest ("... and 9981 more problems (the first 20 are listed)")',
    maxItems: 21,
  })
  details?: string[];

  @ApiProperty({
    example: '6f1c2a9e-0d1b-4c55-9a3e-2f7b9c1d4e5a',
    description: 'The x-request-id of the request',
  })
  request_id!: string;

  @ApiPropertyOptional({ description: 'Development only: the stack of an unexpected error' })
  stack?: string;
}

/** The response headers every response carries. */
export const REQUEST_ID_HEADER: Record<string, HeaderObject> = {
  'x-request-id': {
    description: "The request's id: the client's own x-request-id when it sent a valid one, else a new UUID",
    schema: { type: 'string', pattern: TOKEN_PATTERN },
  },
  traceresponse: {
    description:
      "W3C traceresponse: `00-<trace id>-<this service's span id>-<flags>`. The trace is the caller's (from " +
      '`sentry-trace` or `traceparent`) or a new one; every log line of the request carries the same trace id; ' +
      'flags 01 when the request is traced in Sentry',
    schema: { type: 'string', pattern: TRACERESPONSE_PATTERN },
  },
};

const RETRY_AFTER_HEADER: Record<string, HeaderObject> = {
  'retry-after': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
};

/**
 * The budget headers of every answer of a rate-limited route (writes: RATE_LIMIT_WRITES, reads:
 * RATE_LIMIT_READS, each per RATE_LIMIT_WINDOW_MS and client address), 429s included.
 */
export const RATE_LIMIT_HEADERS: Record<string, HeaderObject> = {
  'ratelimit-limit': {
    description: 'Requests of this kind (writes or reads) allowed per window',
    schema: { type: 'integer', minimum: 1 },
  },
  'ratelimit-remaining': {
    description: 'Requests of this kind left in this window (0 on a 429)',
    schema: { type: 'integer', minimum: 0 },
  },
  'ratelimit-reset': {
    description: 'Seconds until the window resets (on a 429: until a request is accepted again)',
    schema: { type: 'integer', minimum: 0 },
  },
};

const ERRORS: Record<number, string> = {
  400: 'Invalid input: `details` names each field and why (body, path, query or header)',
  401: 'A bearer token is required and was missing or wrong',
  403: 'The bearer token may not do this',
  404: 'No such resource',
  405: 'The path exists with other methods; the Allow header lists them',
  409: 'The resource is not in a state that allows this',
  413: 'The body is larger than BODY_LIMIT_BYTES',
  415: 'The body is not JSON (content-type application/json)',
  422: 'The Idempotency-Key was already used for a different submission',
  429: 'Too many writes (RATE_LIMIT_WRITES) or reads (RATE_LIMIT_READS) from this client in RATE_LIMIT_WINDOW_MS; see Retry-After and RateLimit-Reset',
  500: 'An unexpected error (reported to Sentry; no detail in production)',
  503: 'The database is unavailable or too slow, the write queue is full, or the request ran past REQUEST_DEADLINE_MS; see Retry-After',
};

/** Documents error responses of an operation (or of every operation of a controller) with the error body. */
export function ApiErrors(...statuses: number[]) {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: ERRORS[status] ?? 'Error',
        type: ErrorResponse,
        headers: {
          ...REQUEST_ID_HEADER,
          ...(status === 429 || status === 503 ? RETRY_AFTER_HEADER : {}),
          ...(status === 429 ? RATE_LIMIT_HEADERS : {}),
          ...(status === 405
            ? { allow: { description: 'The methods this path answers to', schema: { type: 'string' } } }
            : {}),
        },
      }),
    ),
  );
}

/** Documents a successful response with its body and the headers every response carries. */
export function ApiSuccess(
  status: number,
  description: string,
  body: { type: new (...args: never[]) => unknown } | { schema: SchemaObject },
  headers: Record<string, HeaderObject> = {},
) {
  return ApiResponse({ status, description, ...body, headers: { ...REQUEST_ID_HEADER, ...headers } });
}

/** The request headers every operation accepts. */
export function ApiRequestHeaders() {
  return applyDecorators(
    ApiHeader({
      name: 'x-request-id',
      required: false,
      description:
        'Your id for this request, echoed back and written on every log line; a new UUID when absent or invalid',
      schema: { type: 'string', pattern: TOKEN_PATTERN },
    }),
    ApiHeader({
      name: 'traceparent',
      required: false,
      description:
        'W3C trace context: the request joins this trace (its log lines, metric exemplars and Sentry events ' +
        'carry the trace id); in tracing mode its sampled flag decides whether the request is traced. Ignored ' +
        'when malformed, and when sentry-trace is sent too',
      schema: { type: 'string', example: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    }),
    ApiHeader({
      name: 'sentry-trace',
      required: false,
      description: "Sentry's trace header (with `baggage`): as traceparent, and preferred to it",
      schema: { type: 'string', example: '0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1' },
    }),
  );
}

/** A documented class (schema `name`) whose properties are the closed set `keys`, each a count. */
export function countsOf(name: string, keys: readonly string[]): new () => Record<string, number> {
  const Counts = class {};
  Object.defineProperty(Counts, 'name', { value: name });
  for (const key of keys) ApiProperty({ type: 'integer', minimum: 0, example: 0 })(Counts.prototype, key);
  return Counts as new () => Record<string, number>;
}

/** The route config key that marks a GET whose body is an aggregate (see AggregateResponse). */
export const AGGREGATE_ROUTE = 'aggregate';
/** How long a client or proxy may reuse an aggregate answer without asking again. */
export const AGGREGATE_CACHE_CONTROL = 'private, max-age=5';

/** The headers of a 200 answer that is an aggregate. */
export const AGGREGATE_HEADERS: Record<string, HeaderObject> = {
  etag: {
    description:
      'A digest of the body: send it back in If-None-Match to get 304 while the answer is unchanged',
    schema: { type: 'string' },
  },
  'cache-control': {
    description: 'Reusable for 5 seconds',
    schema: { type: 'string', example: AGGREGATE_CACHE_CONTROL },
  },
};

/**
 * A GET whose body is an aggregate that many clients poll (dashboards): the request pipeline gives it an ETag and
 * Cache-Control, and answers 304 with no body to an If-None-Match that matches.
 */
export function AggregateResponse() {
  return applyDecorators(
    RouteConfig({ [AGGREGATE_ROUTE]: true }),
    ApiHeader({
      name: 'If-None-Match',
      required: false,
      description: 'The ETag of an earlier answer: 304, with no body, while the answer is the same',
      schema: { type: 'string' },
    }),
    ApiResponse({
      status: 304,
      description: 'Not modified: the answer is still the one whose ETag was sent in If-None-Match',
      headers: { ...REQUEST_ID_HEADER, ...AGGREGATE_HEADERS },
    }),
  );
}
