import { QueryFailedError } from 'typeorm';
import { serializeError } from './logger.factory';

describe('serializeError', () => {
  it("keeps what explains a database error and drops the statement's parameters, which hold other users' data", () => {
    const driverError = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
      code: '22021',
      severity: 'ERROR',
      where: 'unnamed portal parameter $5',
      parameters: ['victim-password-1'],
    });
    const error = new QueryFailedError(
      `INSERT INTO "feedback" ("id", "comment") VALUES ${'($1, $2), '.repeat(500)}`,
      ['id-1', 'victim-password-1', 'id-2', 'private comment of bob'],
      driverError,
    );
    const out = serializeError(error) as Record<string, unknown>;
    const text = JSON.stringify(out);
    expect(text).not.toContain('victim-password-1');
    expect(text).not.toContain('private comment of bob');
    expect(out).toMatchObject({
      type: 'QueryFailedError',
      message: 'invalid byte sequence for encoding "UTF8": 0x00',
      driverError: { code: '22021', severity: 'ERROR' },
    });
    expect(String(out.query)).toMatch(/^INSERT INTO "feedback".*… \(\d+ chars\)$/s);
    expect(String(out.query).length).toBeLessThan(2100);
    expect(String(out.stack)).toContain('QueryFailedError');
  });

  it('caps the message and stack of any error, so one line stays a line', () => {
    const out = serializeError(new Error('x'.repeat(100_000))) as Record<string, unknown>;
    expect(String(out.message).length).toBeLessThan(8100);
    expect(String(out.message)).toMatch(/… \(100000 chars\)$/);
    expect(String(out.stack).length).toBeLessThan(16_100);
  });

  it('leaves other errors as pino writes them', () => {
    const out = serializeError(Object.assign(new TypeError('boom'), { code: 'E_BOOM' })) as Record<
      string,
      unknown
    >;
    expect(out).toMatchObject({ type: 'TypeError', message: 'boom', code: 'E_BOOM' });
  });
});
