import { forbiddenInput, MAX_INPUT_DEPTH } from './validation.pipe';

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('forbiddenInput', () => {
  it('accepts ordinary payloads', () => {
    expect(forbiddenInput({ rating: 4, comment: 'fine', tags: ['a', 'b'], metadata: { k: 'v', n: 1 } })).toBe(
      undefined,
    );
    expect(forbiddenInput(undefined)).toBeUndefined();
    expect(forbiddenInput(nested(MAX_INPUT_DEPTH))).toBeUndefined();
  });

  it('names the field that holds a NUL character, at any depth, in values and keys', () => {
    expect(forbiddenInput({ comment: 'a\u0000b' })).toBe(
      'comment: must not contain NUL (\\u0000) characters',
    );
    expect(forbiddenInput({ tags: ['ok', 'x\u0000'] })).toBe(
      'tags.1: must not contain NUL (\\u0000) characters',
    );
    expect(forbiddenInput({ metadata: { password: '\u0000' } })).toBe(
      'metadata.password: must not contain NUL (\\u0000) characters',
    );
    expect(forbiddenInput({ metadata: { 'k\u0000': 1 } })).toBe(
      'metadata: field names must not contain NUL (\\u0000) characters',
    );
    expect(forbiddenInput('\u0000')).toBe('body: must not contain NUL (\\u0000) characters');
  });

  it('refuses nesting beyond the limit without recursing, however deep', () => {
    expect(forbiddenInput(nested(MAX_INPUT_DEPTH + 1))).toMatch(
      /must not be nested more than 32 levels deep$/,
    );
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(forbiddenInput({ input: deep })).toMatch(
      /^input(\.0)+: must not be nested more than 32 levels deep$/,
    );
  });
});

describe('forbiddenInput and reserved names', () => {
  it.each(['constructor', 'prototype', 'toString', 'hasOwnProperty', '__proto__'])(
    'refuses %s as a field name anywhere, naming where',
    (name) => {
      const top = JSON.parse(`{"rating": 3, "${name}": {"x": 1}}`) as unknown;
      expect(forbiddenInput(top)).toBe(`${name}: is a reserved name and cannot be a field`);
      const nested = JSON.parse(`{"metadata": {"${name}": "v"}}`) as unknown;
      expect(forbiddenInput(nested)).toBe(`metadata.${name}: is a reserved name and cannot be a field`);
    },
  );
});
