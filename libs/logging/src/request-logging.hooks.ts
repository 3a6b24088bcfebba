import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { requestTraceOf, routeOf } from '@app/common';
import { AppLogger } from './app-logger.service';
import { ROOT_LOGGER } from './logging.tokens';
import type { RootLogger } from './logger.factory';
import { RequestContext, runInRequestContext, saneId } from './request-context';

const CONTEXT = Symbol('terra_constellata.requestContext');
type WithContext = FastifyRequest & { [CONTEXT]?: RequestContext };

/**
 * Request correlation and the one "API Request" line per finished request, as Fastify hooks registered by the
 * request pipeline (apps/api/src/http/request-pipeline.ts). Hooks rather than nestjs-pino's LoggerModule
 * (pino-http as Nest middleware): its serialisers and per-request child logger cost about half the throughput
 * of a small endpoint, and a middleware cannot see requests that match no route.
 */
@Injectable()
export class RequestLoggingHooks {
  constructor(
    @Inject(ROOT_LOGGER) private readonly root: RootLogger,
    private readonly logger: AppLogger,
  ) {}

  /** Echoes the request id and enters the request context for everything the request does after this hook. */
  readonly onRequest = (request: WithContext, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    void reply.header('x-request-id', request.id);
    const context = new RequestContext(
      this.root.logger,
      request.id,
      saneId(request.headers['x-user-id']),
      requestTraceOf(request),
    );
    request[CONTEXT] = context;
    runInRequestContext(context, done);
  };

  /** Writes the request line with the final status and route. */
  readonly onResponse = (request: WithContext, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const url = request.url;
    const query = url.indexOf('?');
    this.logger.logResponse(request.id, reply.statusCode, reply.elapsedTime / 1000, {
      method: request.method,
      route: routeOf(request),
      // The query string is left out: it can carry tokens.
      path: query === -1 ? url : url.slice(0, query),
      userId: request[CONTEXT]?.userId,
      trace: request[CONTEXT]?.trace,
    });
    done();
  };
}
