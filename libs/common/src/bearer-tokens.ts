import { createHash, timingSafeEqual } from 'node:crypto';

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
