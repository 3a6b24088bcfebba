import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { storage, type Store } from 'nestjs-pino/storage';
import { TOKEN, USER_ID, type RequestTrace } from '@app/common';
import type { AppPinoLogger } from './logger.factory';

/** The client's `x-request-id` when it cannot break a log line or a header; a fresh UUID otherwise. */
export function requestIdFor(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && TOKEN.test(header) ? header : randomUUID();
}

/** A user id when it is one the service accepts (fits a log line and a label); otherwise undefined. */
export function saneId(value: unknown): string | undefined {
  return typeof value === 'string' && USER_ID.test(value) ? value : undefined;
}

/**
 * What one request knows about itself: its id, its trace, its user once known, and a child logger made only when
 * something logs. It is the store of nestjs-pino's AsyncLocalStorage, entered once per request by the request pipeline, so
 * nestjs-pino's PinoLogger, Nest's Logger (through nestjs-pino) and AppLogger all write the request's fields
 * without being handed anything. On Node 24 an entered AsyncLocalStorage costs nothing measurable per request
 * (AsyncContextFrame); on Node 20 it costs ~9 µs (bench/README.md).
 */
export class RequestContext {
  readonly responseLogger = undefined;
  private child: AppPinoLogger | undefined;
  private user: string | undefined;

  constructor(
    private readonly root: AppPinoLogger,
    readonly requestId: string,
    userId: string | undefined,
    readonly trace: RequestTrace | undefined,
  ) {
    this.user = userId;
  }

  get userId(): string | undefined {
    return this.user;
  }

  /** Records the user once it is known; later lines, the request line and error reports carry it. */
  setUserId(id: string): void {
    const sane = saneId(id);
    if (sane === undefined || sane === this.user) return;
    this.user = sane;
    // Rebuilt from the root on next use, so no line carries user_id twice.
    this.child = undefined;
  }

  /** A logger whose lines carry this request's id, trace and user (nestjs-pino reads it as its store's logger). */
  get logger(): AppPinoLogger {
    if (this.child) return this.child;
    const fields: Record<string, string> = { request_id: this.requestId };
    if (this.trace) {
      fields.trace_id = this.trace.traceId;
      fields.span_id = this.trace.spanId;
    }
    if (this.user) fields.user_id = this.user;
    return (this.child = this.root.child(fields));
  }

  // PinoLogger.assign() replaces the store's logger with a child that carries more fields.
  set logger(logger: AppPinoLogger) {
    this.child = logger;
  }
}

/** The context of the request being handled, or undefined outside any request. */
export function currentRequestContext(): RequestContext | undefined {
  const store: unknown = storage.getStore();
  return store instanceof RequestContext ? store : undefined;
}

/** Runs `fn` (and everything it starts) inside the request's context. */
export function runInRequestContext<T>(context: RequestContext, fn: () => T): T {
  // nestjs-pino types its store's logger without our custom levels: the only difference.
  return storage.run(context as unknown as Store, fn);
}
