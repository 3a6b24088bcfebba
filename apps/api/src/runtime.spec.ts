import { runtimeWarning } from './runtime';

describe('runtimeWarning', () => {
  it('is silent on Node 24 and later', () => {
    expect(runtimeWarning('24.0.0')).toBeUndefined();
    expect(runtimeWarning('26.12.1')).toBeUndefined();
  });

  it('says Node 20 is past end of life and which Node to use', () => {
    expect(runtimeWarning('20.20.2')).toBe(
      'Node.js 20.20.2 is past end of life (no security fixes) and is older than the supported Node.js 24 LTS; ' +
        'run this service on Node.js 24 (nvm use, or source scripts/node24.sh)',
    );
  });

  it('says an older but maintained Node is older than supported, without calling it end of life', () => {
    const line = runtimeWarning('22.11.0')!;
    expect(line).toContain('older than the supported Node.js 24 LTS');
    expect(line).not.toContain('end of life');
  });
});
