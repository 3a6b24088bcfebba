import { Controller, Post, type ExecutionContext } from '@nestjs/common';
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
import { WriteRateLimitGuard } from './rate-limit.guards';

@Controller('api')
class WritesController {
  @Post('feedback')
  feedback(): void {}

  @Post('workflows')
  workflows(): void {}
}

const LIMIT = 3;
const WINDOW_MS = 60_000;

/** The store's answer for one more write of a client: how many it has made in the window, and whether it is blocked. */
const hits = (totalHits: number) => ({
  totalHits,
  timeToExpire: 42,
  isBlocked: totalHits > LIMIT,
  timeToBlockExpire: totalHits > LIMIT ? 17 : 0,
});

async function guardWith(env: Env, increment: jest.Mock = jest.fn()) {
  const limited = { inc: jest.fn() };
  const moduleRef = await Test.createTestingModule({
    providers: [
      WriteRateLimitGuard,
      Reflector,
      {
        provide: RATE_LIMIT_STORAGE,
        useValue: strictMock<ThrottlerStorage>('ThrottlerStorage', { increment }),
      },
      { provide: AppConfig, useValue: parseConfig(env) },
      { provide: getToken(METRICS.rateLimited), useValue: strictMock<Counter>('rate_limited', limited) },
    ],
  }).compile();
  const guard = moduleRef.get(WriteRateLimitGuard);
  await guard.onModuleInit();
  return { guard, limited };
}

function write(ip: string, handler: keyof WritesController, route = `/api/${handler}`) {
  const { reply, sent } = fakeReply();
  const request = { ip, headers: {}, routeOptions: { url: route } } as unknown as FastifyRequest;
  const context = httpContext(request, reply, {
    handler: WritesController.prototype[handler],
    target: WritesController,
  });
  return { context, sent };
}

describe('WriteRateLimitGuard', () => {
  it('lets every write through without a look at the request when RATE_LIMIT_WRITES is 0', async () => {
    // No store members: counting the write would fail the test, and so would reading the context.
    const { guard } = await guardWith({ RATE_LIMIT_WRITES: '0' });
    await expect(guard.canActivate(strictMock<ExecutionContext>('ExecutionContext', {}))).resolves.toBe(true);
  });

  it('counts each write against one budget per client across every write route, with the RateLimit-* headers', async () => {
    const increment = jest.fn(() => Promise.resolve(hits(2)));
    const { guard, limited } = await guardWith({ RATE_LIMIT_WRITES: String(LIMIT) }, increment);

    const feedback = write('203.0.113.7', 'feedback');
    await expect(guard.canActivate(feedback.context)).resolves.toBe(true);
    const workflows = write('203.0.113.7', 'workflows');
    await expect(guard.canActivate(workflows.context)).resolves.toBe(true);
    const other = write('198.51.100.1', 'feedback');
    await expect(guard.canActivate(other.context)).resolves.toBe(true);

    const keys = increment.mock.calls.map((call: unknown[]) => call[0]);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[2]).not.toBe(keys[0]);
    expect(keys[0]).toBe('writes:default:203.0.113.7');
    expect(increment).toHaveBeenCalledWith(keys[0], WINDOW_MS, LIMIT, WINDOW_MS, 'default');
    expect(feedback.sent.headers).toEqual({
      'ratelimit-limit': LIMIT,
      'ratelimit-remaining': 1,
      'ratelimit-reset': 42,
    });
    expect(limited.inc).not.toHaveBeenCalled();
  });

  it('refuses a write over the budget with 429 and Retry-After, counted once by route template', async () => {
    const increment = jest.fn(() => Promise.resolve(hits(LIMIT + 1)));
    const { guard, limited } = await guardWith({ RATE_LIMIT_WRITES: String(LIMIT) }, increment);
    const over = write('203.0.113.7', 'workflows', '/api/workflows/:id/complete');
    const refused = guard.canActivate(over.context);
    await expect(refused).rejects.toThrow(ThrottlerException);
    await expect(refused).rejects.toMatchObject({
      message: expect.stringContaining(`at most ${LIMIT} per 60 s (RATE_LIMIT_WRITES)`) as unknown,
    });
    expect(over.sent.headers['retry-after']).toBe(17);
    expect(limited.inc).toHaveBeenCalledTimes(1);
    expect(limited.inc).toHaveBeenCalledWith({ route: '/api/workflows/:id/complete' });
  });
});
