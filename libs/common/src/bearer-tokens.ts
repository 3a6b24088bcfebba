import { createHash, timingSafeEqual } from 'node:crypto';
import { BadRequestException } from '@nestjs/common';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * A set of accepted bearer tokens. A presented token is compared with every accepted one through their SHA-256
 * digests, which have one length, and without stopping at a match, so the time taken says nothing about them.
 */
export class BearerTokens {
  private readonly expected: Buffer[];

  constructor(tokens: readonly string[]) {
    this.expected = tokens.map(digest);
  }

  get isEmpty(): boolean {
    return this.expected.length === 0;
  }

  /** True when an `Authorization: Bearer <token>` header carries one of the tokens. */
  matches(authorization: string | undefined): boolean {
    const match = /^Bearer (.+)$/.exec(authorization ?? '');
    if (!match) return false;
    const presented = digest(match[1]);
    let found = false;
    for (const expected of this.expected) found = timingSafeEqual(presented, expected) || found;
    return found;
  }
}

/**
 * The request's one `Authorization` header. Node keeps the first of several and drops the rest, while a proxy
 * in front may pass on or check another: two credentials in one request are ambiguous, so they are a 400.
 */
export function singleAuthorization(request: { raw: { rawHeaders: string[] } }): string | undefined {
  const raw = request.raw.rawHeaders;
  let value: string | undefined;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length !== 13 || raw[i].toLowerCase() !== 'authorization') continue;
    if (++seen > 1)
      throw new BadRequestException([
        'authorization: send one Authorization header; this request has several',
      ]);
    value = raw[i + 1];
  }
  return value;
}
