import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { getToken } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { AppConfig } from '@app/config';
import { NestPinoLogger, requestIdFor } from '@app/logging';
import { METRICS } from '@app/metrics';
import { apiDocument, finishDocument } from './http/api-document';
import { trackRoutes } from './http/allowed-methods';
import {
  answerClientError,
  closeSilentConnectionsOnClose,
  connectionCap,
  fileDescriptorLimit,
  limitConnections,
} from './http/connections';
import { DOCS_PATH, registerRequestPipeline } from './http/request-pipeline';

/** Options for NestFactory.create / createNestApplication, shared by main() and the tests. */
export const APP_OPTIONS = {
  abortOnError: false,
  // Nest's start-up lines wait for the pino logger instead of going to the console in Nest's own format,
  // and a failed start prints main()'s one line rather than Nest's stack dump.
  bufferLogs: true,
  // Fastify's own JSON parser is kept; Nest's would add a urlencoded one, and this API answers anything but
  // JSON with 415.
  bodyParser: false,
} as const;

/**
 * Nest's FastifyAdapter, except that @fastify/middie (Nest's middleware layer) is mounted only when a module
 * registers Nest middleware. Nest mounts it for every app, and its onRequest hook then runs on every request:
 * ~14 % of a small request's CPU on Node 24 here (bench/README.md, knobs), for a layer this service does not
 * use. Middleware still works: Nest mounts middie on demand when it applies the first one.
 */
class MiddlewareOnDemandFastifyAdapter extends FastifyAdapter {
  override async init(): Promise<void> {
    // What init() would mount middie for: middleware passed to app.use() before init.
    const pending = (this as unknown as { pendingMiddlewares?: unknown[] }).pendingMiddlewares;
    if (pending && pending.length > 0) await super.init();
  }
}

/** The Fastify adapter with the body limit and request ids of this service. */
export function createFastifyAdapter(config: AppConfig): FastifyAdapter {
  return new MiddlewareOnDemandFastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy as boolean | number | string[],
    // A client that sends its request (a slow body included) for longer than this gets 408 and is closed.
    requestTimeout: config.requestTimeoutMs,
    http: {
      // From its acceptance (or the end of its previous request), a connection has this long to send a whole
      // request head: one that sends nothing is closed too (408). Node checks every 30 s by default, so a short
      // timeout would fire up to 30 s late; at 1 s it fires at most 1 s late.
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs),
    },
    // One answer per request, in the service's error body, and none after a response has begun.
    clientErrorHandler: answerClientError,
    requestIdHeader: false,
    // Ids in paths may be 128 characters and a longer one deserves a 400 naming the field; Fastify's default
    // of 100 would answer 414 to valid ones.
    routerOptions: { maxParamLength: 2048 },
    genReqId: requestIdFor,
    // Fastify's own per-request logger would be a second log line for every request; @app/logging writes one.
    logger: false,
    return503OnClosing: false,
    // At close, Fastify would destroy every connection with no request in progress, including one just accepted
    // whose request is still on its way: the client sees a reset. Every response since SIGTERM says
    // `Connection: close`, so busy connections end by themselves; Node's close() ends the idle keep-alive ones,
    // and closeSilentConnectionsOnClose those that never sent a request, once they are a second old.
    forceCloseConnections: false,
  });
}

/** Everything main.ts and the e2e tests both apply to a created application, before init or listen. */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  app.useLogger(app.get(NestPinoLogger));
  app.flushLogs();
  registerRequestPipeline(app);
  const fastify = app.getHttpAdapter().getInstance();
  trackRoutes(fastify);
  const config = app.get(AppConfig);
  limitConnections(
    fastify.server,
    connectionCap(config.maxConnections, config.database.poolSize, fileDescriptorLimit()),
    app.get<Counter>(getToken(METRICS.connectionsRefused)),
  );
  closeSilentConnectionsOnClose(fastify);
  const { corsOrigins } = config;
  // Off unless CORS_ORIGINS lists origins: @fastify/cors then answers preflights (OPTIONS on any path) and adds
  // Access-Control-* headers to the listed origins' requests. No credentials: the API uses bearer tokens. Its
  // preHandler hook runs after the request pipeline's onRequest hooks, so preflights get a request id, the
  // security headers and their log line like every other response.
  if (corsOrigins.length > 0)
    app.enableCors({
      hook: 'preHandler',
      origin: corsOrigins.includes('*') ? '*' : [...corsOrigins],
      methods: ['GET', 'HEAD', 'POST'],
      allowedHeaders: [
        'content-type',
        'authorization',
        'idempotency-key',
        'x-request-id',
        'x-user-id',
        'traceparent',
        'tracestate',
        'sentry-trace',
        'baggage',
      ],
      exposedHeaders: [
        'x-request-id',
        'traceresponse',
        'idempotent-replayed',
        'retry-after',
        'ratelimit-limit',
        'ratelimit-remaining',
        'ratelimit-reset',
      ],
      maxAge: 600,
    });
  // Node closes a CONNECT request's socket without a word when nothing handles it: answer 400 and close.
  app
    .getHttpServer()
    .on('connect', (_request: unknown, socket: { end(data: string): void }) =>
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'),
    );
  // The API speaks JSON: any other body (text/plain included, which Fastify parses by default) is a 415.
  app.getHttpAdapter().getInstance().removeContentTypeParser('text/plain');
  const document = apiDocument(app.get(AppConfig).releaseVersion);
  // Swagger UI from @nestjs/swagger (its files through @fastify/static); the JSON at /api/docs-json.
  SwaggerModule.setup(
    DOCS_PATH.slice(1),
    app,
    () => finishDocument(SwaggerModule.createDocument(app, document)),
    {
      customSiteTitle: 'Terra Constellata API',
    },
  );
}
