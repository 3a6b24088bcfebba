import type { FastifyRequest } from 'fastify';
import { UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppConfig, parseConfig, type Env } from '@app/config';
import { fakeReply, httpContext } from '../../../test/support/fake-http';
import { strictMock } from '../../../test/support/strict-mock';
import { MetricsTokenGuard } from './metrics-token.guard';

async function guardWith(env: Env): Promise<MetricsTokenGuard> {
  const moduleRef = await Test.createTestingModule({
    providers: [MetricsTokenGuard, { provide: AppConfig, useValue: parseConfig(env) }],
  }).compile();
  return moduleRef.get(MetricsTokenGuard);
}

function attempt(guard: MetricsTokenGuard, authorization?: string) {
  const { reply, sent } = fakeReply();
  // The guard reads the raw header list, so that a second Authorization header is seen (and refused).
  const rawHeaders = authorization === undefined ? [] : ['Authorization', authorization];
  const context = httpContext(
    {
      headers: authorization === undefined ? {} : { authorization },
      raw: { rawHeaders } as unknown as FastifyRequest['raw'],
    },
    reply,
  );
  try {
    return { allowed: guard.canActivate(context), sent };
  } catch (error) {
    return { error, sent };
  }
}

describe('MetricsTokenGuard', () => {
  it.each(['development', 'production'])(
    'leaves /metrics open in %s when METRICS_TOKEN is unset, without reading the request',
    async (ENVIRONMENT) => {
      const guard = await guardWith({ ENVIRONMENT });
      // A context with no members: reading the request or the reply would fail the test.
      expect(guard.canActivate(strictMock<ExecutionContext>('ExecutionContext', {}))).toBe(true);
      expect(attempt(guard, 'Bearer whatever').allowed).toBe(true);
    },
  );

  it('lets the scraper with the token in', async () => {
    const guard = await guardWith({ METRICS_TOKEN: 'scrape-me' });
    const { allowed, sent } = attempt(guard, 'Bearer scrape-me');
    expect(allowed).toBe(true);
    expect(sent.headers).toEqual({});
  });

  it.each([
    ['no Authorization header', undefined],
    ['another token', 'Bearer scrape-you'],
    ['the token with a suffix', 'Bearer scrape-me2'],
    ['another scheme', 'Basic scrape-me'],
    ['the token inside another scheme', 'Digest Bearer scrape-me'],
    ['an empty bearer', 'Bearer '],
  ])('answers %s 401 with a Bearer challenge', async (_what, authorization) => {
    const guard = await guardWith({ METRICS_TOKEN: 'scrape-me' });
    const { error, sent } = attempt(guard, authorization);
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(sent.headers['www-authenticate']).toBe('Bearer realm="metrics"');
  });
});
