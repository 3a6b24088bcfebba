import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { recordErrorType } from '@app/metrics';

/** The error type the metrics and logs give a request answered 503 by its deadline. */
export class RequestDeadlineExceededError extends Error {
  override readonly name = 'RequestDeadlineExceededError';
}

/** Seconds a client is told to wait after a request that ran out of time. */
const RETRY_AFTER_SECONDS = 5;

/**
 * The backstop behind the database and queue timeouts: a request still unanswered `deadlineMs` after it arrived
 * (all of it: one whose body is still coming is left to REQUEST_TIMEOUT_MS) is answered 503 (the standard error
 * body, `Retry-After`), whatever its handler is waiting on. Requests are
 * swept by one timer a few times a second rather than given a timer each: a request costs a Map insert and
 * delete. The handler's own answer, if it comes later, is dropped by Fastify (the reply is already sent).
 */
export function requestDeadline(fastify: FastifyInstance, deadlineMs: number) {
  const open = new Map<FastifyRequest, { reply: FastifyReply; endsAt: number }>();
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [request, entry] of open) {
        if (entry.endsAt > now) continue;
        // A request still arriving belongs to REQUEST_TIMEOUT_MS (408 and close): answering it here as well
        // would give it two answers. Its deadline counts from when it has arrived.
        if (!request.raw.complete) {
          entry.endsAt = now + deadlineMs;
          continue;
        }
        const { reply } = entry;
        open.delete(request);
        if (reply.sent || reply.raw.headersSent) continue;
        recordErrorType(request, new RequestDeadlineExceededError());
        void reply
          .code(503)
          .header('retry-after', String(RETRY_AFTER_SECONDS))
          .header('content-type', 'application/json; charset=utf-8')
          .send({
            statusCode: 503,
            error: 'Service Unavailable',
            message: `The request took longer than REQUEST_DEADLINE_MS (${deadlineMs} ms); retry after ${RETRY_AFTER_SECONDS} seconds`,
            request_id: String(request.id),
          });
      }
    },
    Math.max(50, Math.min(250, deadlineMs / 4)),
  );
  sweep.unref();
  fastify.addHook('onClose', (_instance, done) => {
    clearInterval(sweep);
    done();
  });
  const forget = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    open.delete(request);
    done();
  };
  return {
    onRequest: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      open.set(request, { reply, endsAt: Date.now() + deadlineMs });
      done();
    },
    onResponse: forget,
    onRequestAbort: (request: FastifyRequest, done: HookHandlerDoneFunction) => {
      open.delete(request);
      done();
    },
  };
}
