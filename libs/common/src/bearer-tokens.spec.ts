import { BearerTokens } from './bearer-tokens';

describe('BearerTokens', () => {
  const tokens = new BearerTokens(['first-token-aaaaaaaa', 'second-token-bbbbbbb']);

  it('accepts any of its tokens in a Bearer header, and nothing else', () => {
    expect(tokens.matches('Bearer first-token-aaaaaaaa')).toBe(true);
    expect(tokens.matches('Bearer second-token-bbbbbbb')).toBe(true);
    expect(tokens.matches('Bearer first-token-aaaaaaab')).toBe(false);
    expect(tokens.matches('first-token-aaaaaaaa')).toBe(false);
    expect(tokens.matches('Basic Zmlyc3Q=')).toBe(false);
    expect(tokens.matches(undefined)).toBe(false);
    expect(tokens.isEmpty).toBe(false);
  });

  it('accepts nothing when it has no token', () => {
    const none = new BearerTokens([]);
    expect(none.isEmpty).toBe(true);
    expect(none.matches('Bearer anything')).toBe(false);
  });
});
