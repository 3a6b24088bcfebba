import type { ExecutionContext, Type } from '@nestjs/common';
import type { HttpArgumentsHost } from '@nestjs/common/interfaces';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { strictMock, type MockMembers } from './strict-mock';

/** What a fake reply was told: the status, the headers (lower-case names), the body and how often it was sent. */
export interface Sent {
  status?: number;
  headers: Record<string, string | number>;
  body?: unknown;
  sends: number;
}

/** A Fastify reply that records what it is told; it has only `status`, `header` and `send`. */
export function fakeReply(): { reply: FastifyReply; sent: Sent } {
  const sent: Sent = { headers: {}, sends: 0 };
  const reply: FastifyReply = strictMock<FastifyReply>('FastifyReply', {
    header: jest.fn((name: string, value: string | number) => {
      sent.headers[name.toLowerCase()] = value;
      return reply;
    }),
    status: jest.fn((code: number) => {
      sent.status = code;
      return reply;
    }),
    send: jest.fn((body?: unknown) => {
      sent.sends++;
      sent.body = body;
      return reply;
    }),
  } as MockMembers<FastifyReply>);
  return { reply, sent };
}

/**
 * An ExecutionContext (so also an ArgumentsHost) of one HTTP request, for filters and guards. The request is
 * data, not a collaborator: a plain object with the fields the code reads. `handler` and `target` are what
 * `getHandler()` and `getClass()` answer (for code that reads their metadata); without them those fail.
 */
export function httpContext(
  request: Partial<FastifyRequest>,
  reply: FastifyReply,
  route: { handler?: () => unknown; target?: Type } = {},
): ExecutionContext {
  const members: MockMembers<ExecutionContext> = {
    getType: jest.fn(() => 'http'),
    switchToHttp: jest.fn(() =>
      strictMock<HttpArgumentsHost>('HttpArgumentsHost', {
        getRequest: jest.fn(() => request),
        getResponse: jest.fn(() => reply),
      } as MockMembers<HttpArgumentsHost>),
    ),
  };
  if (route.handler) members.getHandler = jest.fn(() => route.handler!);
  if (route.target) members.getClass = jest.fn(() => route.target!);
  return strictMock<ExecutionContext>('ExecutionContext', members);
}

/**
 * A guard's verdict on a request with these Authorization headers, as Node gives them (raw, so a second one is
 * seen): `allowed` when it let the request in, `error` when it threw; `sent` is what it told the reply.
 */
export function guardAttempt(
  guard: { canActivate(context: ExecutionContext): unknown },
  ...authorizations: string[]
) {
  const { reply, sent } = fakeReply();
  const request = { raw: { rawHeaders: authorizations.flatMap((value) => ['Authorization', value]) } };
  const context = httpContext(request as never, reply);
  try {
    return { allowed: guard.canActivate(context) as boolean, error: undefined as unknown, sent };
  } catch (error) {
    return { allowed: undefined, error, sent };
  }
}
