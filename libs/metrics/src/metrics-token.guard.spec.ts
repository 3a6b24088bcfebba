import { BadRequestException, UnauthorizedException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppConfig, parseConfig, type Env } from '@app/config';
import { fakeReply, httpContext } from '../../../test/support/fake-http';
import { MetricsTokenGuard } from './metrics-token.guard';

async function guardWith(env: Env): Promise<MetricsTokenGuard> {
  const moduleRef = await Test.createTestingModule({
    providers: [MetricsTokenGuard, { provide: AppConfig, useValue: parseConfig(env) }],
  }).compile();
  return moduleRef.get(MetricsTokenGuard);
}

/** A request with these Authorization headers, as Node gives them: raw, so a second one is seen. */
function attempt(guard: MetricsTokenGuard, ...authorizations: string[]) {
  const { reply, sent } = fakeReply();
  const request = { raw: { rawHeaders: authorizations.flatMap((value) => ['Authorization', value]) } };
  const context = httpContext(request as never, reply);
  try {
    return { allowed: guard.canActivate(context), sent };
  } catch (error) {
    return { error, sent };
  }
}

describe('MetricsTokenGuard', () => {
  it.each(['development', 'production'])(
    'leaves /metrics open in %s when METRICS_TOKEN is unset',
    async (ENVIRONMENT) => {
      const guard = await guardWith({ ENVIRONMENT });
      expect(attempt(guard).allowed).toBe(true);
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
    const { error, sent } = attempt(guard, ...(authorization === undefined ? [] : [authorization]));
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(sent.headers['www-authenticate']).toBe('Bearer realm="metrics"');
  });

  it.each([undefined, 'scrape-me'])(
    'answers two Authorization headers 400, whatever they hold (METRICS_TOKEN %s)',
    async (METRICS_TOKEN) => {
      const guard = await guardWith(METRICS_TOKEN ? { METRICS_TOKEN } : {});
      const { error } = attempt(guard, 'Bearer scrape-me', 'Bearer scrape-me');
      expect(error).toBeInstanceOf(BadRequestException);
    },
  );
});
