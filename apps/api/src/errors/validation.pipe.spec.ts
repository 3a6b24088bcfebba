import { BadRequestException } from '@nestjs/common';
import { IsInt, IsOptional, IsString } from 'class-validator';
import {
  createValidationPipe,
  forbiddenInput,
  MAX_INPUT_DEPTH,
  MAX_REPORTED_PROBLEMS,
} from './validation.pipe';

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

describe('forbiddenInput and values JSON cannot keep', () => {
  it('refuses a number beyond a double (1e400 parses as Infinity, stored as null), naming the field', () => {
    const parsed = JSON.parse('{"metadata": {"big": 1e400, "small": -1e400}}') as unknown;
    expect(forbiddenInput(parsed)).toMatch(/^metadata\.(big|small): must be a finite number between/);
    expect(forbiddenInput(JSON.parse('[1, 2, 1e999]'))).toMatch(/^2: must be a finite number/);
    expect(forbiddenInput(JSON.parse('1e400'))).toMatch(/^body: must be a finite number/);
    expect(forbiddenInput({ n: Number.MAX_VALUE, m: -Number.MIN_VALUE })).toBeUndefined();
  });

  it('refuses a lone surrogate in a value or a key, and keeps a surrogate pair', () => {
    const parsed = JSON.parse('{"comment": "ok \\ud800 then"}') as unknown;
    expect(forbiddenInput(parsed)).toBe(
      'comment: must not contain a lone UTF-16 surrogate (\\uD800-\\uDFFF without its pair)',
    );
    expect(forbiddenInput({ tags: ['\udc00x'] })).toMatch(
      /^tags\.0: must not contain a lone UTF-16 surrogate/,
    );
    expect(forbiddenInput({ metadata: { 'k\ud83d': 1 } })).toMatch(
      /^metadata: field names must not contain a lone UTF-16 surrogate/,
    );
    expect(forbiddenInput({ comment: 'a star \ud83c\udf1f' })).toBeUndefined();
  });

  it('shows at most a few hundred characters of a path, however long the client made it', () => {
    const key = 'k'.repeat(50_000);
    const problem = forbiddenInput({ [key]: { x: Infinity } })!;
    expect(problem.length).toBeLessThan(400);
    expect(problem).toMatch(/^k+\.\.\.: must be a finite number/);
  });
});

describe('the validation pipe', () => {
  class Probe {
    @IsInt()
    rating!: number;

    @IsOptional()
    @IsString()
    comment?: string;
  }
  const pipe = createValidationPipe();
  const body = { type: 'body' as const, metatype: Probe };
  const problems = async (value: unknown) => {
    try {
      await pipe.transform(value, body);
    } catch (error) {
      return (error as BadRequestException).getResponse() as { message: string[] };
    }
    throw new Error('accepted');
  };

  it('lists the first MAX_REPORTED_PROBLEMS problems and counts the rest', async () => {
    const value: Record<string, unknown> = { rating: 'five' };
    for (let i = 0; i < 10_000; i++) value[`u${i}`] = i;
    const { message } = await problems(value);
    expect(message).toHaveLength(MAX_REPORTED_PROBLEMS + 1);
    expect(message.slice(0, 2)).toEqual([
      'u0: property u0 should not exist',
      'u1: property u1 should not exist',
    ]);
    // 10,000 unknown fields and a rating that is no integer.
    expect(message[MAX_REPORTED_PROBLEMS]).toBe('... and 9981 more problems (the first 20 are listed)');
  });

  it('reports the declared fields too when there are few unknown ones, unknown first', async () => {
    expect((await problems({ rating: 'five', mood: 'happy' })).message).toEqual([
      'mood: property mood should not exist',
      'rating: rating must be an integer number',
    ]);
    expect((await problems({ rating: 'five' })).message).toEqual([
      'rating: rating must be an integer number',
    ]);
  });

  it('cuts long unknown names, so 20 problems stay a few KB', async () => {
    const value: Record<string, unknown> = { rating: 1 };
    for (let i = 0; i < 30; i++) value[`${i}${'n'.repeat(3000)}`] = 1;
    const { message } = await problems(value);
    expect(JSON.stringify(message).length).toBeLessThan(4000);
  });

  it('throws a plain BadRequestException: its class is the error_type label', async () => {
    const error = await pipe.transform({ rating: 'x', extra: 1 }, body).catch((e: unknown) => e);
    expect((error as object).constructor).toBe(BadRequestException);
  });

  it('passes a valid payload through as a DTO instance', async () => {
    await expect(pipe.transform({ rating: 3, comment: 'fine' }, body)).resolves.toBeInstanceOf(Probe);
  });
});
