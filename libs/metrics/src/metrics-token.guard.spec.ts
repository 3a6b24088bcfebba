import { BadRequestException, UnauthorizedException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppConfig, parseConfig, type Env } from '@app/config';
import { guardAttempt } from '../../../test/support/fake-http';
import { MetricsTokenGuard } from './metrics-token.guard';

async function guardWith(env: Env): Promise<MetricsTokenGuard> {
  const moduleRef = await Test.createTestingModule({
    providers: [MetricsTokenGuard, { provide: AppConfig, useValue: parseConfig(env) }],
  }).compile();
  return moduleRef.get(MetricsTokenGuard);
}

describe('MetricsTokenGuard', () => {
  it.each(['development', 'production'])(
    'leaves /metrics open in %s when METRICS_TOKEN is unset',
    async (ENVIRONMENT) => {
      const guard = await guardWith({ ENVIRONMENT });
      expect(guardAttempt(guard).allowed).toBe(true);
      expect(guardAttempt(guard, 'Bearer whatever').allowed).toBe(true);
    },
  );

  it('lets the scraper with the token in', async () => {
    const guard = await guardWith({ METRICS_TOKEN: 'scrape-me' });
    const { allowed, sent } = guardAttempt(guard, 'Bearer scrape-me');
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
    const { error, sent } = guardAttempt(guard, ...(authorization === undefined ? [] : [authorization]));
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(sent.headers['www-authenticate']).toBe('Bearer realm="metrics"');
  });

  it.each([undefined, 'scrape-me'])(
    'answers two Authorization headers 400, whatever they hold (METRICS_TOKEN %s)',
    async (METRICS_TOKEN) => {
      const guard = await guardWith(METRICS_TOKEN ? { METRICS_TOKEN } : {});
      const { error } = guardAttempt(guard, 'Bearer scrape-me', 'Bearer scrape-me');
      expect(error).toBeInstanceOf(BadRequestException);
    },
  );
});
