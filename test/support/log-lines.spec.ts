import { duplicateKeys } from './log-lines';

describe('duplicateKeys', () => {
  it.each([
    ['{"a":1,"b":2}', []],
    ['{"a":1,"a":2}', ['a']],
    ['{"request_id":"x","msg":"m","request_id":"x"}', ['request_id']],
    ['{"a":{"b":1,"b":2},"c":[{"d":1},{"d":2}]}', ['b']],
    ['{"a":"{\\"a\\":1}","b":"a,\\"a\\""}', []],
    ['{"a":["a","a"],"b":{"a":1}}', []],
  ])('finds the repeated keys of %s', (json, expected) => {
    expect(duplicateKeys(json)).toEqual(expected);
  });
});
