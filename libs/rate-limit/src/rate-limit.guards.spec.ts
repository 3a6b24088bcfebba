import { Controller, Get, Post, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { ThrottlerException, type ThrottlerStorage } from '@nestjs/throttler';
import { getToken } from '@willsoto/nestjs-prometheus';
import type { FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { AppConfig, parseConfig, type Env } from '@app/config';
import { METRICS } from '@app/metrics';
import { fakeReply, httpContext } from '../../../test/support/fake-http';
import { strictMock } from '../../../test/support/strict-mock';
import { RATE_LIMIT_STORAGE } from './failover.storage';
import { ReadRateLimitGuard, WriteRateLimitGuard } from './rate-limit.guards';

@Controller('api')
class RoutesController {
  @Post('feedback')
  feedback(): void {}

  @Post('workflows')
  workflows(): void {}

  @Get('feedback/stats')
  stats(): void {}
}

const LIMIT = 3;
const WINDOW_MS = 60_000;

/** The store's answer for one more request of a client: how many it made in the window, and whether it is blocked. */
const hits = (totalHits: number) => ({
  totalHits,
  timeToExpire: 42,
  isBlocked: totalHits > LIMIT,
  timeToBlockExpire: totalHits > LIMIT ? 17 : 0,
});

type GuardClass = typeof WriteRateLimitGuard | typeof ReadRateLimitGuard;

async function guardWith(Guard: GuardClass, env: Env, increment: jest.Mock = jest.fn()) {
  const limited = { inc: jest.fn() };
  const moduleRef = await Test.createTestingModule({
    providers: [
      Guard,
      Reflector,
      {
        provide: RATE_LIMIT_STORAGE,
        useValue: strictMock<ThrottlerStorage>('ThrottlerStorage', { increment }),
      },
      { provide: AppConfig, useValue: parseConfig({ RATE_LIMIT_WINDOW_MS: String(WINDOW_MS), ...env }) },
      { provide: getToken(METRICS.rateLimited), useValue: strictMock<Counter>('rate_limited', limited) },
    ],
  }).compile();
  const guard = moduleRef.get<WriteRateLimitGuard | ReadRateLimitGuard>(Guard);
  await guard.onModuleInit();
  return { guard, limited };
}

function call(ip: string, handler: keyof RoutesController, route = `/api/${handler}`) {
  const { reply, sent } = fakeReply();
  const request = { ip, headers: {}, routeOptions: { url: route } } as unknown as FastifyRequest;
  const context = httpContext(request, reply, {
    handler: RoutesController.prototype[handler],
    target: RoutesController,
  });
  return { context, sent };
}

describe.each([
  ['WriteRateLimitGuard', WriteRateLimitGuard, 'RATE_LIMIT_WRITES', 'writes'],
  ['ReadRateLimitGuard', ReadRateLimitGuard, 'RATE_LIMIT_READS', 'reads'],
] as const)('%s', (_name, Guard, variable, kind) => {
  it(`lets every request through without a look at it when ${variable} is 0`, async () => {
    // No store members: counting the request would fail the test, and so would reading the context.
    const { guard } = await guardWith(Guard, { [variable]: '0' });
    await expect(guard.canActivate(strictMock<ExecutionContext>('ExecutionContext', {}))).resolves.toBe(true);
  });

  it('counts each request against one budget per client across its routes, with the RateLimit-* headers', async () => {
    const increment = jest.fn(() => Promise.resolve(hits(2)));
    const { guard, limited } = await guardWith(Guard, { [variable]: String(LIMIT) }, increment);

    const first = call('203.0.113.7', 'feedback');
    await expect(guard.canActivate(first.context)).resolves.toBe(true);
    await expect(guard.canActivate(call('203.0.113.7', 'workflows').context)).resolves.toBe(true);
    await expect(guard.canActivate(call('198.51.100.1', 'feedback').context)).resolves.toBe(true);

    const keys = increment.mock.calls.map((args: unknown[]) => args[0]);
    expect(keys).toEqual([
      `${kind}:default:203.0.113.7`,
      `${kind}:default:203.0.113.7`,
      `${kind}:default:198.51.100.1`,
    ]);
    expect(increment).toHaveBeenCalledWith(keys[0], WINDOW_MS, LIMIT, WINDOW_MS, 'default');
    expect(first.sent.headers).toEqual({
      'ratelimit-limit': LIMIT,
      'ratelimit-remaining': 1,
      'ratelimit-reset': 42,
    });
    expect(limited.inc).not.toHaveBeenCalled();
  });

  it('refuses a request over the budget with 429, Retry-After and the RateLimit-* headers, counted once by route template', async () => {
    const increment = jest.fn(() => Promise.resolve(hits(LIMIT + 1)));
    const { guard, limited } = await guardWith(Guard, { [variable]: String(LIMIT) }, increment);
    const over = call('203.0.113.7', 'workflows', '/api/workflows/:id/complete');
    const refused = guard.canActivate(over.context);
    await expect(refused).rejects.toThrow(ThrottlerException);
    await expect(refused).rejects.toMatchObject({ message: expect.stringContaining(`(${variable})`) });
    expect(over.sent.headers).toEqual({
      'retry-after': 17,
      'ratelimit-limit': LIMIT,
      'ratelimit-remaining': 0,
      'ratelimit-reset': 17,
    });
    expect(limited.inc).toHaveBeenCalledTimes(1);
    expect(limited.inc).toHaveBeenCalledWith({ route: '/api/workflows/:id/complete' });
  });
});
