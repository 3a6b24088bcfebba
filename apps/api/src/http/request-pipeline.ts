import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onSendHookHandler } from 'fastify';
import { createHash } from 'node:crypto';
import { AGGREGATE_CACHE_CONTROL, AGGREGATE_ROUTE } from '@app/common';
import { RequestTracingHooks } from '@app/error-tracking';
import { ShutdownState } from '@app/health';
import { RequestLoggingHooks } from '@app/logging';
import { HttpMetricsHooks } from '@app/metrics';
import { AppConfig } from '@app/config';
import { requestDeadline } from './request-deadline';
import { DOCS_CSP, securityHeaders } from './security-headers';

type Hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/** Where the API documentation is served; its page gets a policy that lets Swagger UI load its own files. */
export const DOCS_PATH = '/api/docs';

/**
 * Every per-request hook of the service, in the order it runs. This is the only place that adds request hooks.
 *
 * onRequest:
 *   1. trace: the caller's trace (`sentry-trace`, `traceparent`) or a new one, answered in `traceresponse`; in
 *      tracing mode a sampled request's transaction starts here and is active for the rest of the request
 *   2. request context: echo `x-request-id`, enter the AsyncLocalStorage context (request id, trace, user) that
 *      every logger reads; everything after this, handlers and filters included, runs inside it
 *   3. security headers (computed once at start), and `Connection: close` once shutdown has begun, so clients
 *      reconnect elsewhere instead of sending on a connection the server is about to close, and on a request
 *      that asks for an `Upgrade` (websocket, h2c): the service speaks only HTTP/1.1, so it answers the
 *      request as HTTP/1.1 and closes. Node's parser stops reading a connection at an upgrade request, so a
 *      request pipelined behind one would otherwise wait forever.
 *   4. the request deadline: a request still unanswered after REQUEST_DEADLINE_MS is answered 503 (0: off)
 * onResponse (after the response is sent, with its final status and route):
 *   5. the request deadline forgets the request
 *   6. metrics: requests_total, server_errors_total, errors_total, request_duration_seconds (with the trace id
 *      as exemplar)
 *   7. the "API Request" log line
 *   8. tracing: end the transaction (tracing mode only)
 * onRequestAbort (the client went away): the request deadline forgets the request
 * onSend, only on the routes marked AggregateResponse (attached when the route is added, so no other request
 *   pays for it): ETag and Cache-Control, and 304 with no body for an If-None-Match that matches
 */
export function registerRequestPipeline(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const logging = app.get(RequestLoggingHooks);
  const metrics = app.get(HttpMetricsHooks);
  const tracing = app.get(RequestTracingHooks);
  const shutdown = app.get(ShutdownState);
  const deadlineMs = app.get(AppConfig).requestDeadlineMs;
  const deadline = deadlineMs > 0 ? requestDeadline(fastify, deadlineMs) : undefined;

  const api = securityHeaders();
  const docs = Object.freeze({ ...api, 'content-security-policy': DOCS_CSP });
  const headers: Hook = (request, reply, done) => {
    void reply.headers(request.url.startsWith(DOCS_PATH) ? docs : api);
    if (shutdown.isShuttingDown || request.headers.upgrade !== undefined)
      void reply.header('connection', 'close');
    done();
  };

  const onRequest: Hook[] = [tracing.onRequest, logging.onRequest, headers];
  const onResponse: Hook[] = [metrics.onResponse, logging.onResponse];
  if (deadline) {
    onRequest.push(deadline.onRequest);
    onResponse.unshift(deadline.onResponse);
    fastify.addHook('onRequestAbort', deadline.onRequestAbort);
  }
  if (tracing.onResponse) onResponse.push(tracing.onResponse);
  for (const hook of onRequest) fastify.addHook('onRequest', hook);
  for (const hook of onResponse) fastify.addHook('onResponse', hook);
  fastify.addHook('onRoute', (route) => {
    if (!(route.config as Record<string, unknown> | undefined)?.[AGGREGATE_ROUTE]) return;
    const own = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend];
    route.onSend = [...own, conditionalGet];
  });
}

const conditionalGet: onSendHookHandler = (request, reply, payload, done) => {
  if (reply.statusCode !== 200 || typeof payload !== 'string') return done(null, payload);
  const etag = `"${createHash('sha256').update(payload).digest('base64url').slice(0, 32)}"`;
  void reply.header('etag', etag).header('cache-control', AGGREGATE_CACHE_CONTROL);
  const match = request.headers['if-none-match'];
  if (
    match &&
    (match.trim() === '*' || match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag))
  ) {
    void reply.code(304).removeHeader('content-type');
    return done(null, '');
  }
  done(null, payload);
};
