import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AppPinoLogger } from './logger.factory';

const SANE_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** The client's `x-request-id` when it cannot break a log line or a header; a fresh UUID otherwise. */
export function requestIdFor(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && SANE_ID.test(header) ? header : randomUUID();
}

/** The `x-user-id` header when it is a sane id; otherwise the user is unknown. */
export function userIdFrom(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && SANE_ID.test(header) ? header : undefined;
}

const CONTEXT = Symbol('terra_constellata.requestLog');

type WithContext = { [CONTEXT]?: RequestLogContext };

/**
 * What one request knows about itself: its id, its user once known, and a child logger made only when
 * something logs. It lives on the request object and is handed down explicitly (controllers take it with
 * `@RequestLog()`), not through AsyncLocalStorage: on Node 20 any AsyncLocalStorage in use turns on async
 * hooks for every promise and tick of every request, which cost ~35 % of the throughput of a small endpoint
 * here (bench/README.md).
 */
export class RequestLogContext {
  private child: AppPinoLogger | undefined;

  constructor(
    private readonly root: AppPinoLogger,
    readonly requestId: string,
    private user: string | undefined,
  ) {}

  get userId(): string | undefined {
    return this.user;
  }

  /** Records the user once it is known (e.g. after authentication); later lines and the request line carry it. */
  setUserId(id: string): void {
    this.user = id;
    // Rebuilt on next use from the root, so no line carries user_id twice.
    this.child = undefined;
  }

  /** A logger whose lines carry this request's id and user. */
  get logger(): AppPinoLogger {
    return (this.child ??= this.root.child(
      this.user ? { request_id: this.requestId, user_id: this.user } : { request_id: this.requestId },
    ));
  }
}

/** Binds a request's context to it; done once per request by the request-logging hook. */
export function attachRequestLogContext(request: object, context: RequestLogContext): void {
  (request as WithContext)[CONTEXT] = context;
}

/** The context the request-logging hook bound to this request, if any. */
export function requestLogContextOf(request: object): RequestLogContext | undefined {
  return (request as WithContext)[CONTEXT];
}

/** Controller parameter: the current request's log context (its id, user and logger). */
export const RequestLog = createParamDecorator(
  (_data: unknown, host: ExecutionContext): RequestLogContext | undefined =>
    requestLogContextOf(host.switchToHttp().getRequest<object>()),
);
