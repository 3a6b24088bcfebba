import { redactDeep, redactText, REDACTED } from './redaction';

describe('redactText', () => {
  it.each([
    ['login failed password=hunter2 for ada', `login failed password=${REDACTED} for ada`],
    ['db_password = "hunter 2" next', `db_password = "${REDACTED}" next`],
    ['{"token":"t0k","n":1}', `{"token":"${REDACTED}","n":1}`],
    ["api_key: 'k3y'", `api_key: '${REDACTED}'`],
    ['GET /x?access_token=abc&page=2', `GET /x?access_token=${REDACTED}&page=2`],
    ['Authorization: Bearer eyJhbGciOi.x-y_z', `Authorization: Bearer ${REDACTED}`],
    ['connect postgres://app:hunter2@db:5432/tc failed', `connect postgres://${REDACTED}@db:5432/tc failed`],
    ['clone https://ghp_abc123@github.com/x', `clone https://${REDACTED}@github.com/x`],
  ])('%s', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });

  it('leaves ordinary text alone, the same string', () => {
    for (const text of [
      'renderer ran out of memory',
      'all 12 checks passed',
      'see https://example.com/docs?page=2',
      'tokens used: 12',
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });
});

describe('redactDeep', () => {
  it('replaces secret-named fields at any depth and secrets in free-text values', () => {
    expect(
      redactDeep({
        password: 'p',
        nested: { client_secret: 's', 'x-gateway-secret': 'g', list: [{ api_key: 'k' }] },
        note: 'password=p2',
        tokens_used: 3,
      }),
    ).toEqual({
      password: REDACTED,
      nested: { client_secret: REDACTED, 'x-gateway-secret': REDACTED, list: [{ api_key: REDACTED }] },
      note: `password=${REDACTED}`,
      tokens_used: 3,
    });
  });

  it('redacts what JSON would write for an object with toJSON, such as a URL', () => {
    expect(redactDeep({ url: new URL('https://bot:hunter2@example.com/x') })).toEqual({
      url: `https://${REDACTED}@example.com/x`,
    });
  });

  it('keeps Errors and Dates as they are', () => {
    const error = new Error('x');
    const date = new Date(0);
    expect(redactDeep({ err: error, at: date })).toEqual({ err: error, at: date });
  });
});
