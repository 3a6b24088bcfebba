import { BadRequestException, ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppConfig, parseConfig, type Env } from '@app/config';
import { guardAttempt } from '../../../test/support/fake-http';
import { FeedbackReadGuard } from './feedback-read.guard';

const TOKENS = 'reader-token-0123456789,second-token-abcdefghij';

async function guardWith(env: Env): Promise<FeedbackReadGuard> {
  const moduleRef = await Test.createTestingModule({
    providers: [FeedbackReadGuard, { provide: AppConfig, useValue: parseConfig(env) }],
  }).compile();
  return moduleRef.get(FeedbackReadGuard);
}

describe('FeedbackReadGuard', () => {
  it.each(['Bearer reader-token-0123456789', 'Bearer second-token-abcdefghij'])(
    'lets %s read, touching nothing of the reply',
    async (authorization) => {
      const guard = await guardWith({ ENVIRONMENT: 'production', FEEDBACK_READ_TOKENS: TOKENS });
      const { allowed, sent } = guardAttempt(guard, ...(authorization === undefined ? [] : [authorization]));
      expect(allowed).toBe(true);
      expect(sent.headers).toEqual({});
    },
  );

  it.each([
    ['no Authorization header', undefined],
    ['another token', 'Bearer reader-token-012345678X'],
    ['a prefix of a token', 'Bearer reader-token'],
    ['both tokens at once', `Bearer ${TOKENS}`],
    ['another scheme', 'Basic reader-token-0123456789'],
    ['the token without its scheme', 'reader-token-0123456789'],
  ])('answers %s 401 with a Bearer challenge, in every environment', async (_what, authorization) => {
    for (const ENVIRONMENT of ['development', 'production']) {
      const guard = await guardWith({ ENVIRONMENT, FEEDBACK_READ_TOKENS: TOKENS });
      const { error, sent } = guardAttempt(guard, ...(authorization === undefined ? [] : [authorization]));
      expect(error).toBeInstanceOf(UnauthorizedException);
      expect((error as Error).message).toContain('FEEDBACK_READ_TOKENS');
      expect(sent.headers['www-authenticate']).toBe('Bearer realm="feedback"');
    }
  });

  it.each(['development', 'test', 'staging'])(
    'lets anyone read in %s when no token is configured',
    async (ENVIRONMENT) => {
      const guard = await guardWith({ ENVIRONMENT });
      expect(guardAttempt(guard).allowed).toBe(true);
    },
  );

  it('refuses every read in production when no token is configured (403 naming the variable), token or not', async () => {
    const guard = await guardWith({ ENVIRONMENT: 'production' });
    for (const authorization of [undefined, 'Bearer anything-at-all-0123']) {
      const { error, sent } = guardAttempt(guard, ...(authorization === undefined ? [] : [authorization]));
      expect(error).toBeInstanceOf(ForbiddenException);
      expect((error as Error).message).toMatch(/set FEEDBACK_READ_TOKENS/);
      // Nothing to authenticate with: no challenge.
      expect(sent.headers).toEqual({});
    }
  });

  it.each([
    ['production', TOKENS],
    ['development', undefined],
  ])('answers two Authorization headers 400 in %s, even a valid token twice', async (ENVIRONMENT, tokens) => {
    const guard = await guardWith(tokens ? { ENVIRONMENT, FEEDBACK_READ_TOKENS: tokens } : { ENVIRONMENT });
    const { error } = guardAttempt(guard, 'Bearer reader-token-0123456789', 'Bearer reader-token-0123456789');
    expect(error).toBeInstanceOf(BadRequestException);
  });
});
