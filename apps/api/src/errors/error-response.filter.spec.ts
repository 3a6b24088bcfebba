import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  NotFoundException,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppConfig, parseConfig, type Environment } from '@app/config';
import { AppLogger } from '@app/logging';
import { fakeReply, httpContext, type Sent } from '../../../../test/support/fake-http';
import { strictMock, type MockMembers } from '../../../../test/support/strict-mock';
import { trackRoutes } from '../http/allowed-methods';
import { ErrorResponseFilter } from './error-response.filter';

/** A Fastify server as far as the route table sees it: the routes it registered. */
function fakeServer(routes: Array<[string, string]>): FastifyInstance {
  let onRoute: (route: { method: string; url: string }) => void = () => undefined;
  const server: FastifyInstance = strictMock<FastifyInstance>('FastifyInstance', {
    addHook: jest.fn((_name: string, hook: typeof onRoute) => {
      onRoute = hook;
      return server;
    }),
  } as MockMembers<FastifyInstance>);
  trackRoutes(server);
  for (const [method, url] of routes) onRoute({ method, url });
  return server;
}

const server = fakeServer([
  ['GET', '/api/workflows/:id'],
  ['POST', '/api/workflows'],
  ['GET', '/api/workflows'],
  ['OPTIONS', '*'],
]);

interface Call {
  method?: string;
  url?: string;
  /** The route template it matched; null for none. */
  route?: string | null;
}

async function filterWith(logger: MockMembers<AppLogger>, environment: Environment = 'production') {
  const moduleRef = await Test.createTestingModule({
    providers: [
      ErrorResponseFilter,
      { provide: AppConfig, useValue: parseConfig({ ENVIRONMENT: environment }) },
      { provide: AppLogger, useValue: strictMock('AppLogger', logger) },
    ],
  }).compile();
  const filter = moduleRef.get(ErrorResponseFilter);
  return (exception: unknown, call: Call = {}): Sent => {
    const { method = 'GET', url = '/api/workflows/1', route = '/api/workflows/:id' } = call;
    // The request is data, not a collaborator: a plain object with the fields Fastify gives it.
    const request = {
      id: 'req-1',
      method,
      url,
      routeOptions: { url: route ?? undefined },
      server,
    } as unknown as FastifyRequest;
    const { reply, sent } = fakeReply();
    filter.catch(exception, httpContext(request, reply));
    expect(sent.sends).toBe(1);
    return sent;
  };
}

const JSON_TYPE = 'application/json; charset=utf-8';

describe('ErrorResponseFilter: HttpExceptions', () => {
  it.each([
    [new BadRequestException('rating: must be 1-5'), 400, 'Bad Request', 'rating: must be 1-5'],
    [new ForbiddenException(), 403, 'Forbidden', 'Forbidden'],
    [new NotFoundException('workflow x not found'), 404, 'Not Found', 'workflow x not found'],
    [new UnprocessableEntityException('no'), 422, 'Unprocessable Entity', 'no'],
    [new HttpException('slow down', 429), 429, 'Too Many Requests', 'slow down'],
    [new HttpException({ message: 'teapot', error: 'Teapot' }, 418), 418, 'Teapot', 'teapot'],
  ])(
    'answers %p with its own status, error and message, and logs nothing',
    async (exception, status, error, message) => {
      // No logger member: a 4xx is the client's mistake, and logging or reporting it would fail this test.
      const answer = await filterWith({});
      const sent = answer(exception);
      expect(sent.status).toBe(status);
      expect(sent.headers['content-type']).toBe(JSON_TYPE);
      expect(sent.headers['retry-after']).toBeUndefined();
      expect(sent.body).toEqual({ statusCode: status, error, message, request_id: 'req-1' });
    },
  );

  it("joins a validation pipe's list of messages for people and keeps the list as details for programs", async () => {
    const answer = await filterWith({});
    const sent = answer(new BadRequestException(['rating: must be 1-5', 'tags: at most 10']));
    expect(sent.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'rating: must be 1-5; tags: at most 10',
      details: ['rating: must be 1-5', 'tags: at most 10'],
      request_id: 'req-1',
    });
  });

  it("drops the query string from the router's 404 message, where it could carry a token", async () => {
    const answer = await filterWith({});
    const sent = answer(new NotFoundException('Cannot GET /nowhere?token=s3cret'), {
      url: '/nowhere?token=s3cret',
      route: null,
    });
    expect(sent.status).toBe(404);
    expect(sent.body).toMatchObject({ message: 'Cannot GET /nowhere' });
    expect(JSON.stringify(sent.body)).not.toContain('s3cret');
  });

  it('answers a 503 thrown on purpose with its own message and Retry-After, logged as a warning, not reported', async () => {
    const warn = jest.fn();
    const answer = await filterWith({ warn });
    const sent = answer(new ServiceUnavailableException('Too many submissions are waiting; retry later'), {
      method: 'POST',
      url: '/api/workflows',
      route: '/api/workflows',
    });
    expect(sent.status).toBe(503);
    expect(sent.headers['retry-after']).toBe('5');
    expect(sent.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Too many submissions are waiting; retry later',
      request_id: 'req-1',
    });
    expect(warn).toHaveBeenCalledTimes(1);
  });
});

describe('ErrorResponseFilter: the database cannot serve', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  // TypeORM wraps the driver's error: a statement timeout arrives as a QueryFailedError with SQLSTATE 57014.
  const timedOut = Object.assign(new Error('canceling statement due to statement timeout'), {
    name: 'QueryFailedError',
    driverError: { code: '57014' },
  });
  const locked = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

  it.each([
    ['refused connection', refused],
    ['statement timeout', timedOut],
    ['locked SQLite', locked],
  ])(
    'answers a %s 503 with Retry-After, one warning naming the request, and no report',
    async (_what, error) => {
      const warn = jest.fn();
      // No logException: a database outage has its own health check and alert, not one report per request.
      const answer = await filterWith({ warn }, 'development');
      const sent = answer(error, { method: 'POST', url: '/api/workflows', route: '/api/workflows' });
      expect(sent.status).toBe(503);
      expect(sent.headers['retry-after']).toBe('5');
      expect(sent.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The database is unavailable or too slow; retry after 5 seconds',
        request_id: 'req-1',
      });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith(
        {
          request_id: 'req-1',
          method: 'POST',
          route: '/api/workflows',
          error_type: 'Error',
          reason: error.message,
        },
        'Service unavailable: answered 503',
      );
    },
  );

  it('never shows the driver message or a stack to the client, even in development', async () => {
    const answer = await filterWith({ warn: jest.fn() }, 'development');
    const body = JSON.stringify(answer(refused).body);
    expect(body).not.toContain('127.0.0.1');
    expect(body).not.toContain('stack');
  });
});

describe('ErrorResponseFilter: anything else is a 500', () => {
  it('answers an unknown error 500 with a generic body, and logs and reports it once with where it happened', async () => {
    const logException = jest.fn();
    const answer = await filterWith({ logException });
    const error = new TypeError("Cannot read properties of undefined (reading 'id')");
    const sent = answer(error, { method: 'POST', url: '/api/workflows', route: '/api/workflows' });
    expect(sent.status).toBe(500);
    expect(sent.headers['retry-after']).toBeUndefined();
    expect(sent.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
      request_id: 'req-1',
    });
    // logException writes the error line and reports to the error tracker: once, with the error itself.
    expect(logException).toHaveBeenCalledTimes(1);
    expect(logException).toHaveBeenCalledWith(
      error,
      "Unhandled TypeError: Cannot read properties of undefined (reading 'id')",
      { request_id: 'req-1', method: 'POST', route: '/api/workflows' },
    );
  });

  it('answers a thrown non-Error 500 too', async () => {
    const logException = jest.fn();
    const answer = await filterWith({ logException });
    expect(answer('a string').status).toBe(500);
    expect(logException).toHaveBeenCalledWith('a string', 'Unhandled string: a string', expect.any(Object));
  });

  it.each(['production', 'staging', 'test'] as const)('shows no stack in %s', async (environment) => {
    const answer = await filterWith({ logException: jest.fn() }, environment);
    expect(answer(new Error('boom')).body).not.toHaveProperty('stack');
  });

  it('shows the stack in development', async () => {
    const answer = await filterWith({ logException: jest.fn() }, 'development');
    const error = new Error('boom');
    expect(answer(error).body).toMatchObject({ statusCode: 500, stack: error.stack });
  });

  it("keeps a Fastify client error's 4xx status (body too large), and does not trust a 5xx one", async () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), {
      statusCode: 413,
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    });
    const answer = await filterWith({ logException: jest.fn() });
    expect(answer(tooLarge).body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'Request body is too large',
      request_id: 'req-1',
    });
    const claimed = Object.assign(new Error('upstream said 502'), { statusCode: 502 });
    expect(answer(claimed).status).toBe(500);
  });
});

describe('ErrorResponseFilter: 405 and HEAD', () => {
  const routerNotFound = (method: string, path: string) => new NotFoundException(`Cannot ${method} ${path}`);

  it('turns the router 404 for a path that has other methods into a 405 with Allow', async () => {
    const answer = await filterWith({});
    const sent = answer(routerNotFound('DELETE', '/api/workflows'), {
      method: 'DELETE',
      url: '/api/workflows?x=1',
      route: null,
    });
    expect(sent.status).toBe(405);
    expect(sent.headers.allow).toBe('GET, POST');
    expect(sent.body).toEqual({
      statusCode: 405,
      error: 'Method Not Allowed',
      message: 'DELETE is not allowed here; use GET, POST',
      request_id: 'req-1',
    });
  });

  it('keeps the 404 for a path no route has, and for a 404 a matched handler threw', async () => {
    const answer = await filterWith({});
    const unknown = answer(routerNotFound('GET', '/nowhere'), { url: '/nowhere', route: null });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.allow).toBeUndefined();
    // The handler of GET /api/workflows/:id found no such workflow: the path exists, the resource does not.
    const missing = answer(new NotFoundException('workflow 1 not found'), { url: '/api/workflows/1' });
    expect(missing.status).toBe(404);
    expect(missing.headers.allow).toBeUndefined();
  });

  it('answers HEAD with the status and headers and no body', async () => {
    const answer = await filterWith({ warn: jest.fn() });
    const notFound = answer(routerNotFound('HEAD', '/nowhere'), {
      method: 'HEAD',
      url: '/nowhere',
      route: null,
    });
    expect(notFound.status).toBe(404);
    expect(notFound.headers['content-type']).toBe(JSON_TYPE);
    expect(notFound.body).toBeUndefined();
    const unavailable = answer(new ServiceUnavailableException(), { method: 'HEAD' });
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('5');
    expect(unavailable.body).toBeUndefined();
  });
});
