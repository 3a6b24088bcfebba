import {
  BadRequestException,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createHash } from 'node:crypto';
import { AppConfig, parseConfig } from '@app/config';
import { AppLogger, RequestContextService } from '@app/logging';
import { BusinessMetrics } from '@app/metrics';
import { strictMock, type MockMembers } from '../../../test/support/strict-mock';
import { FeedbackAggregatesRepository, type Cell } from './aggregates/feedback-aggregates.repository';
import { FeedbackAggregatesService } from './aggregates/feedback-aggregates.service';
import type { SubmitFeedbackDto } from './dto/submit-feedback.dto';
import { FeedbackEntity } from './entities/feedback.entity';
import { FeedbackRepository } from './feedback.repository';
import type { Caller } from './caller';
import { FeedbackService } from './feedback.service';
import { FeedbackWriter, type WriteResult } from './feedback.writer';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const caller = { ip: '203.0.113.7' };

interface Collaborators {
  repository?: MockMembers<FeedbackRepository>;
  writer?: MockMembers<FeedbackWriter>;
  aggregates?: MockMembers<FeedbackAggregatesRepository>;
  readiness?: MockMembers<FeedbackAggregatesService>;
  business?: MockMembers<BusinessMetrics>;
  logger?: MockMembers<AppLogger>;
  context?: MockMembers<RequestContextService>;
  env?: Record<string, string>;
}

// Each test names the collaborators' members it expects to be used; any other use fails it.
async function serviceWith(c: Collaborators): Promise<FeedbackService> {
  const moduleRef = await Test.createTestingModule({
    providers: [
      FeedbackService,
      { provide: FeedbackRepository, useValue: strictMock('FeedbackRepository', c.repository ?? {}) },
      { provide: FeedbackWriter, useValue: strictMock('FeedbackWriter', c.writer ?? {}) },
      {
        provide: FeedbackAggregatesRepository,
        useValue: strictMock('FeedbackAggregatesRepository', c.aggregates ?? {}),
      },
      {
        provide: FeedbackAggregatesService,
        useValue: strictMock('FeedbackAggregatesService', c.readiness ?? {}),
      },
      { provide: BusinessMetrics, useValue: strictMock('BusinessMetrics', c.business ?? {}) },
      { provide: AppLogger, useValue: strictMock('AppLogger', c.logger ?? {}) },
      { provide: RequestContextService, useValue: strictMock('RequestContextService', c.context ?? {}) },
      { provide: AppConfig, useValue: parseConfig(c.env ?? {}) },
    ],
  }).compile();
  return moduleRef.get(FeedbackService);
}

/** A writer that stores every row it is handed, as the real one does once the row is committed. */
const storing = () =>
  jest.fn((row: FeedbackEntity) => Promise.resolve<WriteResult>({ record: row, replayed: false }));

const dto = (fields: Partial<SubmitFeedbackDto> = {}): SubmitFeedbackDto => ({ rating: 4, ...fields });

describe('FeedbackService.submit', () => {
  it.each(['', 'has space', 'x'.repeat(129), 'slash/y', 'ümlaut'])(
    'refuses the Idempotency-Key %j with a 400 naming the header, before anything is written',
    async (key) => {
      const service = await serviceWith({});
      const refused = service.submit('general', null, dto(), key, caller);
      await expect(refused).rejects.toThrow(BadRequestException);
      await expect(refused).rejects.toMatchObject({
        response: { message: [expect.stringMatching(/^Idempotency-Key: /)] },
      });
    },
  );

  it('hands the writer a complete row (rater: the user a gateway vouched for), counts and logs it once stored, and returns what the writer stored', async () => {
    const write = storing();
    const feedbackReceived = jest.fn();
    const logBusinessEvent = jest.fn();
    const setUserId = jest.fn();
    const service = await serviceWith({
      writer: { write },
      business: { feedbackReceived },
      logger: { logBusinessEvent },
      context: { setUserId, requestId: 'req-1', userId: undefined },
    });

    const submission = dto({
      rating: 1,
      comment: 'broken and slow',
      category: 'bug',
      tags: ['ui'],
      user_id: 'u-42',
      metadata: { b: 2, a: 1 },
    });
    const result = await service.submit('workflow', 'wf-1', submission, undefined, {
      ...caller,
      vouchedUserId: 'u-42',
    });

    expect(write).toHaveBeenCalledTimes(1);
    const row = write.mock.calls[0][0];
    expect(row).toBeInstanceOf(FeedbackEntity);
    expect(row).toEqual(
      expect.objectContaining({
        targetType: 'workflow',
        targetId: 'wf-1',
        rating: 1,
        comment: 'broken and slow',
        category: 'bug',
        tags: ['ui'],
        metadata: { b: 2, a: 1 },
        sentiment: 'negative',
        userId: 'u-42',
        requestId: 'req-1',
        rater: 'user:u-42',
        idempotencyKey: null,
        requestFingerprint: null,
      }),
    );
    expect(row.id).toMatch(UUID);
    expect(row.createdAt).toBeInstanceOf(Date);
    // The user id is given to the request, so the request's own log line names who sent it.
    expect(setUserId).toHaveBeenCalledWith('u-42');
    expect(result).toEqual({ record: row, replayed: false });
    expect(feedbackReceived).toHaveBeenCalledWith('workflow', 'bug');
    expect(logBusinessEvent).toHaveBeenCalledWith('feedback_received', {
      feedback_id: row.id,
      target_type: 'workflow',
      target_id: 'wf-1',
      category: 'bug',
      rating: 1,
      sentiment: 'negative',
    });
  });

  it('fills the defaults, takes the user from the request, and names an anonymous rater by a hash of the address', async () => {
    const write = storing();
    const service = await serviceWith({
      writer: { write },
      business: { feedbackReceived: jest.fn() },
      logger: { logBusinessEvent: jest.fn() },
      context: { requestId: undefined, userId: undefined },
    });
    await service.submit('general', null, dto({ rating: 3 }), undefined, caller);
    const row = write.mock.calls[0][0];
    expect(row).toEqual(
      expect.objectContaining({
        comment: null,
        category: 'other',
        tags: [],
        metadata: null,
        sentiment: 'neutral',
        userId: null,
        requestId: null,
        rater: `client:${sha256(caller.ip).slice(0, 32)}`,
      }),
    );
    // The address itself is never stored.
    expect(JSON.stringify(row)).not.toContain(caller.ip);

    const fromRequest = storing();
    const signedIn = await serviceWith({
      writer: { write: fromRequest },
      business: { feedbackReceived: jest.fn() },
      logger: { logBusinessEvent: jest.fn() },
      context: { requestId: 'req-2', userId: 'u-from-header' },
    });
    await signedIn.submit('general', null, dto(), undefined, caller);
    // A user id nobody vouched for is stored as claimed, but the rater stays the address: claims are free.
    expect(fromRequest.mock.calls[0][0]).toMatchObject({
      userId: 'u-from-header',
      rater: `client:${sha256(caller.ip).slice(0, 32)}`,
    });
  });

  it("scopes an Idempotency-Key to its caller and target: the writer gets a hash, another caller's use is another key", async () => {
    const write = storing();
    const service = await serviceWith({
      writer: { write },
      business: { feedbackReceived: jest.fn() },
      logger: { logBusinessEvent: jest.fn() },
      context: { setUserId: jest.fn(), requestId: undefined, userId: undefined },
    });
    const keyOf = async (
      type: 'artwork' | 'workflow',
      id: string,
      fields: Partial<SubmitFeedbackDto>,
      from: Caller,
    ) => {
      await service.submit(type, id, dto(fields), 'key-1', from);
      return write.mock.calls[write.mock.calls.length - 1][0];
    };
    const vouched = (ip: string, user: string): Caller => ({ ip, vouchedUserId: user });
    const first = await keyOf('artwork', 'a-1', { user_id: 'u-1' }, vouched('10.0.0.1', 'u-1'));
    expect(first.idempotencyKey).toBe(sha256(['user:u-1', 'artwork', 'a-1', 'key-1'].join('\u0000')));
    expect(first.requestFingerprint).toMatch(/^[0-9a-f]{64}$/);

    // A vouched user from another address is the same caller; the key and the fingerprint repeat.
    const again = await keyOf('artwork', 'a-1', { user_id: 'u-1' }, vouched('10.0.0.2', 'u-1'));
    expect(again.idempotencyKey).toBe(first.idempotencyKey);
    expect(again.requestFingerprint).toBe(first.requestFingerprint);

    const keys = new Set([
      first.idempotencyKey,
      (await keyOf('artwork', 'a-1', { user_id: 'u-2' }, vouched('10.0.0.1', 'u-2'))).idempotencyKey,
      (await keyOf('artwork', 'a-2', { user_id: 'u-1' }, vouched('10.0.0.1', 'u-1'))).idempotencyKey,
      (await keyOf('workflow', 'a-1', { user_id: 'u-1' }, vouched('10.0.0.1', 'u-1'))).idempotencyKey,
      // A claimed user id is not that user: it scopes the key together with the address it came from.
      (await keyOf('artwork', 'a-1', { user_id: 'u-1' }, { ip: '10.0.0.1' })).idempotencyKey,
      (await keyOf('artwork', 'a-1', { user_id: 'u-1' }, { ip: '10.0.0.3' })).idempotencyKey,
      (await keyOf('artwork', 'a-1', { user_id: 'u-2' }, { ip: '10.0.0.1' })).idempotencyKey,
      (await keyOf('artwork', 'a-1', {}, { ip: '10.0.0.1' })).idempotencyKey,
      (await keyOf('artwork', 'a-1', {}, { ip: '10.0.0.3' })).idempotencyKey,
    ]);
    expect(keys.size).toBe(9);
  });

  it('gives the same fingerprint to the same body whatever the order of its metadata keys, and another to another body', async () => {
    const write = storing();
    const service = await serviceWith({
      writer: { write },
      business: { feedbackReceived: jest.fn() },
      logger: { logBusinessEvent: jest.fn() },
      context: { requestId: undefined, userId: undefined },
    });
    const fingerprintOf = async (fields: Partial<SubmitFeedbackDto>) => {
      await service.submit('general', null, dto(fields), 'k', caller);
      return write.mock.calls[write.mock.calls.length - 1][0].requestFingerprint;
    };
    const base = await fingerprintOf({ metadata: { a: 1, b: 'x' } });
    expect(await fingerprintOf({ metadata: { b: 'x', a: 1 } })).toBe(base);
    expect(await fingerprintOf({ metadata: { a: 2, b: 'x' } })).not.toBe(base);
    expect(await fingerprintOf({ metadata: { a: 1, b: 'x' }, rating: 5 })).not.toBe(base);
    expect(await fingerprintOf({ metadata: { a: 1, b: 'x' }, comment: 'hi' })).not.toBe(base);
    expect(await fingerprintOf({ metadata: { a: 1, b: 'x' }, tags: ['t'] })).not.toBe(base);
  });

  it('returns the original of a replayed key with the same body, without counting or logging it again', async () => {
    let original: FeedbackEntity | undefined;
    const write = jest.fn((row: FeedbackEntity) => {
      original ??= row;
      return Promise.resolve<WriteResult>({ record: original, replayed: row !== original });
    });
    const feedbackReceived = jest.fn();
    const logBusinessEvent = jest.fn();
    const service = await serviceWith({
      writer: { write },
      business: { feedbackReceived },
      logger: { logBusinessEvent },
      context: { requestId: undefined, userId: undefined },
    });
    await service.submit('general', null, dto({ comment: 'same' }), 'k', caller);
    const replay = await service.submit('general', null, dto({ comment: 'same' }), 'k', caller);
    expect(replay).toEqual({ record: original, replayed: true });
    expect(feedbackReceived).toHaveBeenCalledTimes(1);
    expect(logBusinessEvent).toHaveBeenCalledTimes(1);
  });

  it('refuses a replayed key with another body (422), without counting it', async () => {
    let original: FeedbackEntity | undefined;
    const write = jest.fn((row: FeedbackEntity) => {
      original ??= row;
      return Promise.resolve<WriteResult>({ record: original, replayed: row !== original });
    });
    const feedbackReceived = jest.fn();
    const service = await serviceWith({
      writer: { write },
      business: { feedbackReceived },
      logger: { logBusinessEvent: jest.fn() },
      context: { requestId: undefined, userId: undefined },
    });
    await service.submit('general', null, dto({ rating: 5 }), 'k', caller);
    const other = service.submit('general', null, dto({ rating: 1 }), 'k', caller);
    await expect(other).rejects.toThrow(UnprocessableEntityException);
    await expect(other).rejects.toMatchObject({
      response: { message: [expect.stringMatching(/^Idempotency-Key: already used/)] },
    });
    expect(feedbackReceived).toHaveBeenCalledTimes(1);
  });

  it("passes the writer's refusal on and counts nothing", async () => {
    const full = new ServiceUnavailableException('queue full');
    // No BusinessMetrics or logger members: counting or logging the refused submission would fail the test.
    const service = await serviceWith({
      writer: { write: jest.fn(() => Promise.reject(full)) },
      context: { requestId: undefined, userId: undefined },
    });
    await expect(service.submit('general', null, dto(), undefined, caller)).rejects.toBe(full);
  });
});

describe('FeedbackService.recent', () => {
  const rowAt = (iso: string, id: string) =>
    Object.assign(new FeedbackEntity(), {
      id,
      targetType: 'general',
      targetId: null,
      rating: 4,
      comment: null,
      category: 'other',
      tags: [],
      userId: null,
      metadata: null,
      sentiment: 'positive',
      createdAt: new Date(iso),
    });
  const ids = ['00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000002'];

  it('asks for one page (20 by default), answers it with a cursor when the repository found more, and the cursor resumes after the last row', async () => {
    const recentPage = jest
      .fn()
      .mockResolvedValueOnce([rowAt('2026-01-02T00:00:00Z', ids[0]), rowAt('2026-01-01T00:00:00Z', ids[1])])
      .mockResolvedValueOnce([]);
    const service = await serviceWith({ repository: { recentPage } });

    const page = await service.recent({ limit: 1, target_type: 'workflow', target_id: 'wf-1' });
    expect(recentPage).toHaveBeenLastCalledWith({
      limit: 1,
      targetType: 'workflow',
      targetId: 'wf-1',
      before: undefined,
    });
    expect(page.items.map((item) => item.id)).toEqual([ids[0]]);
    expect(page.next_cursor).toEqual(expect.any(String));

    const next = await service.recent({ limit: 1, cursor: page.next_cursor! });
    expect(recentPage).toHaveBeenLastCalledWith({
      limit: 1,
      targetType: undefined,
      targetId: undefined,
      before: [new Date('2026-01-02T00:00:00Z'), ids[0]],
    });
    expect(next).toEqual({ items: [], next_cursor: null });
  });

  it('gives no cursor on the last page and asks for 20 rows when no limit is given', async () => {
    const recentPage = jest.fn().mockResolvedValue([rowAt('2026-01-02T00:00:00Z', ids[0])]);
    const service = await serviceWith({ repository: { recentPage } });
    expect((await service.recent({})).next_cursor).toBeNull();
    expect(recentPage).toHaveBeenCalledWith(expect.objectContaining({ limit: 20 }));
  });

  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  it.each([
    ['not base64 JSON', '%%%'],
    ['a foreign id', cursor(['2026-01-01T00:00:00.000Z', 'not-a-uuid'])],
    ['a date before 1970', cursor(['1969-12-31T00:00:00.000Z', ids[0]])],
    ['a five-digit year', cursor(['+010000-01-01T00:00:00.000Z', ids[0]])],
    ['an invalid date', cursor(['yesterday', ids[0]])],
  ])('refuses a cursor with %s (400 naming the field) without a query', async (_what, value) => {
    const recentPage = jest.fn();
    const service = await serviceWith({ repository: { recentPage } });
    const refused = service.recent({ cursor: value });
    await expect(refused).rejects.toThrow(BadRequestException);
    await expect(refused).rejects.toMatchObject({
      response: { message: [expect.stringMatching(/^cursor: /)] },
    });
    expect(recentPage).not.toHaveBeenCalled();
  });
});

describe('FeedbackService.stats', () => {
  const now = new Date('2026-03-10T12:00:00Z');
  const cell = (fields: Partial<Cell>): Cell => ({
    day: '2026-03-10',
    target_type: 'artwork',
    category: 'other',
    rating: 4,
    sentiment: 'positive',
    count: 1,
    sum: 4,
    ...fields,
  });

  it('refuses while the roll-ups are being back-filled, without a query', async () => {
    const service = await serviceWith({
      readiness: {
        assertReady: jest.fn(() => {
          throw new ServiceUnavailableException('back-filling');
        }),
      },
    });
    await expect(service.stats({}, now)).rejects.toThrow(ServiceUnavailableException);
  });

  it('reads three ranges (since, the last 24 h, the last 7 days from midnight) and adds them up', async () => {
    const all = [
      cell({ day: '2026-03-10', rating: 5, count: 2, sum: 10 }),
      cell({
        day: '2026-03-04',
        target_type: 'workflow',
        category: 'bug',
        rating: 1,
        sentiment: 'negative',
        count: 1,
        sum: 1,
      }),
      cell({ day: '2026-02-01', target_type: 'general', rating: 3, sentiment: 'neutral', count: 1, sum: 3 }),
    ];
    const lastDay = [all[0]];
    const week = [all[0], all[1]];
    const cells = jest.fn((range: { from?: Date }) =>
      Promise.resolve(
        range.from === undefined ? all : range.from.getTime() === now.getTime() - 86_400_000 ? lastDay : week,
      ),
    );
    const service = await serviceWith({ readiness: { assertReady: jest.fn() }, aggregates: { cells } });

    const stats = await service.stats({ target_type: undefined }, now);
    expect(cells.mock.calls).toEqual([
      [{ from: undefined }, undefined],
      [{ from: new Date('2026-03-09T12:00:00Z') }, undefined],
      [{ from: new Date('2026-03-04T00:00:00Z') }, undefined],
    ]);
    expect(stats).toMatchObject({
      total: 4,
      average_rating: 3.5,
      by_target_type: {
        general: { count: 1, average_rating: 3 },
        workflow: { count: 1, average_rating: 1 },
        artwork: { count: 2, average_rating: 5 },
      },
      by_category: { bug: 1, other: 3 },
      rating_distribution: { '1': 1, '2': 0, '3': 1, '4': 0, '5': 2 },
      sentiment: { positive: 2, neutral: 1, negative: 1 },
      last_24h: { count: 2, average_rating: 5 },
      filters: { target_type: null, since: null },
    });
    expect(stats.daily_average_rating.map((d) => d.date)).toEqual([
      '2026-03-04',
      '2026-03-05',
      '2026-03-06',
      '2026-03-07',
      '2026-03-08',
      '2026-03-09',
      '2026-03-10',
    ]);
    expect(stats.daily_average_rating[0]).toEqual({ date: '2026-03-04', count: 1, average_rating: 1 });
    expect(stats.daily_average_rating[1]).toEqual({ date: '2026-03-05', count: 0, average_rating: null });
    expect(stats.daily_average_rating[6]).toEqual({ date: '2026-03-10', count: 2, average_rating: 5 });
  });

  it('starts every range at `since` when it is later, and passes the target type through', async () => {
    const cells = jest.fn().mockResolvedValue([]);
    const service = await serviceWith({ readiness: { assertReady: jest.fn() }, aggregates: { cells } });
    const since = '2026-03-10T06:00:00.000Z';
    const stats = await service.stats({ target_type: 'workflow', since }, now);
    expect(cells.mock.calls).toEqual([
      [{ from: new Date(since) }, 'workflow'],
      [{ from: new Date(since) }, 'workflow'],
      [{ from: new Date(since) }, 'workflow'],
    ]);
    expect(stats).toMatchObject({
      total: 0,
      average_rating: null,
      filters: { target_type: 'workflow', since },
    });
  });

  it('lets concurrent identical queries share one computation, and computes again once it has answered', async () => {
    const pending: Array<(cells: Cell[]) => void> = [];
    const cells = jest.fn(() => new Promise<Cell[]>((resolve) => pending.push(resolve)));
    const service = await serviceWith({ readiness: { assertReady: jest.fn() }, aggregates: { cells } });
    const first = service.stats({ target_type: 'artwork' }, now);
    const second = service.stats({ target_type: 'artwork' }, now);
    const other = service.stats({ target_type: 'workflow' }, now);
    // Three ranges each: one computation for the two artwork queries, one for the workflow query.
    expect(cells).toHaveBeenCalledTimes(6);
    for (const resolve of pending.splice(0)) resolve([]);
    const [a, b] = await Promise.all([first, second, other]);
    expect(b).toBe(a);
    const later = service.stats({ target_type: 'artwork' }, now);
    expect(cells).toHaveBeenCalledTimes(9);
    for (const resolve of pending.splice(0)) resolve([]);
    await expect(later).resolves.toMatchObject({ total: 0 });
  });
});

describe('FeedbackService idempotency key expiry', () => {
  afterEach(() => jest.useRealTimers());

  it('frees keys older than the TTL every quarter of it, and logs a failed pass as a warning', async () => {
    jest.useFakeTimers({ now: new Date('2026-03-10T12:00:00Z') });
    const expireIdempotencyKeys = jest
      .fn()
      .mockResolvedValueOnce(undefined)
      .mockRejectedValueOnce(new Error('database down'));
    const warn = jest.fn();
    const service = await serviceWith({
      repository: { expireIdempotencyKeys },
      logger: { warn },
      env: { FEEDBACK_IDEMPOTENCY_TTL_MS: '40000' },
    });
    service.onModuleInit();
    await jest.advanceTimersByTimeAsync(9_999);
    expect(expireIdempotencyKeys).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(expireIdempotencyKeys).toHaveBeenCalledWith(new Date(Date.now() - 40_000));
    expect(warn).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(warn).toHaveBeenCalledWith(
      { err: expect.objectContaining({ message: 'database down' }) },
      expect.stringContaining('retried at the next interval'),
    );
    service.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(expireIdempotencyKeys).toHaveBeenCalledTimes(2);
  });
});
