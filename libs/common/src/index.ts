export { ensureDirectory } from './ensure-directory';
export { redactDeep, redactText, REDACTED } from './redaction';
export { routeOf, UNMATCHED_ROUTE } from './route-of';
export { BearerTokens, singleAuthorization } from './bearer-tokens';
export { MAX_LOGGED_SQL, truncate } from './truncate';
export {
  AGGREGATE_CACHE_CONTROL,
  AGGREGATE_HEADERS,
  AGGREGATE_ROUTE,
  AggregateResponse,
  ApiErrors,
  ApiRequestHeaders,
  ApiSuccess,
  countsOf,
  ErrorResponse,
  RATE_LIMIT_HEADERS,
  REQUEST_ID_HEADER as REQUEST_ID_RESPONSE_HEADER,
  TOKEN_PATTERN,
} from './api-docs';
export {
  requestTraceOf,
  setRequestTrace,
  traceresponseOf,
  TRACERESPONSE_PATTERN,
  type RequestTrace,
} from './request-trace';
