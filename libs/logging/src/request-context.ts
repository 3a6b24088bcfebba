import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { storage, type Store } from 'nestjs-pino/storage';
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

/**
 * What one request knows about itself, kept in nestjs-pino's AsyncLocalStorage so PinoLogger, the Nest Logger
 * and any module can read it without passing it by hand. The child logger is made only when something logs.
 */
export class RequestLogContext {
  readonly responseLogger = undefined;
  private child: AppPinoLogger | undefined;

  constructor(
    private readonly root: AppPinoLogger,
    readonly requestId: string,
    private user: string | undefined,
  ) {}

  get userId(): string | undefined {
    return this.user;
  }

  set userId(id: string | undefined) {
    this.user = id;
    if (this.child && id) this.child = this.child.child({ user_id: id });
  }

  get logger(): AppPinoLogger {
    return (this.child ??= this.root.child(
      this.user ? { request_id: this.requestId, user_id: this.user } : { request_id: this.requestId },
    ));
  }

  // PinoLogger.assign() replaces the store's logger with a child carrying more fields.
  set logger(logger: AppPinoLogger) {
    this.child = logger;
  }
}

/** The context of the request being handled, or undefined outside a request. */
export function currentRequestContext(): RequestLogContext | undefined {
  const store: unknown = storage.getStore();
  return store instanceof RequestLogContext ? store : undefined;
}

export function runInRequestContext<T>(context: RequestLogContext, fn: () => T): T {
  // nestjs-pino types its store's logger without custom levels; ours has them, which is the only difference.
  return storage.run(context as unknown as Store, fn);
}

/** The current request's id and user, for errors, Sentry and feedback. */
@Injectable()
export class RequestContext {
  get requestId(): string | undefined {
    return currentRequestContext()?.requestId;
  }

  get userId(): string | undefined {
    return currentRequestContext()?.userId;
  }

  /** Records the user once it is known (e.g. after authentication); later log lines carry it. */
  setUserId(userId: string): void {
    const context = currentRequestContext();
    if (context) context.userId = userId;
  }
}
