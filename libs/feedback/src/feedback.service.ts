import {
  BadRequestException,
  Injectable,
  UnprocessableEntityException,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { AppConfig } from '@app/config';
import { AppLogger, RequestContextService } from '@app/logging';
import { BusinessMetrics } from '@app/metrics';
import type { FeedbackStatsQuery, RecentFeedbackQuery } from './dto/feedback-query.dto';
import type { SubmitFeedbackDto } from './dto/submit-feedback.dto';
import { toRecord, type FeedbackStats, type RecentFeedback } from './dto/feedback.response';
import {
  FEEDBACK_CATEGORIES,
  FeedbackEntity,
  SENTIMENTS,
  type FeedbackTargetType,
} from './entities/feedback.entity';
import { FeedbackAggregatesRepository, type Cell } from './aggregates/feedback-aggregates.repository';
import { FeedbackAggregatesService } from './aggregates/feedback-aggregates.service';
import type { Caller } from './caller';
import { FeedbackRepository } from './feedback.repository';
import { FeedbackWriter, type WriteResult } from './feedback.writer';
import { sentimentOf } from './learning/text-analysis';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;
const CURSOR_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY_MS = 86_400_000;

const STATS_DAYS = 7;

interface Sum {
  count: number;
  sum: number;
}

const avg = (s: Sum | undefined) => (s && s.count > 0 ? Math.round((s.sum / s.count) * 100) / 100 : null);
const total = (cells: Cell[], pick: (cell: Cell) => boolean = () => true): Sum => {
  const s = { count: 0, sum: 0 };
  for (const cell of cells)
    if (pick(cell)) {
      s.count += cell.count;
      s.sum += cell.sum;
    }
  return s;
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Stores feedback and answers the reporting queries. */
@Injectable()
export class FeedbackService implements OnModuleInit, OnModuleDestroy {
  private expiry: NodeJS.Timeout | undefined;
  /** Statistics being computed, by query: concurrent identical reads share one computation. */
  private readonly computing = new Map<string, Promise<FeedbackStats>>();

  constructor(
    private readonly repository: FeedbackRepository,
    private readonly writer: FeedbackWriter,
    private readonly aggregates: FeedbackAggregatesRepository,
    private readonly readiness: FeedbackAggregatesService,
    private readonly business: BusinessMetrics,
    private readonly logger: AppLogger,
    private readonly context: RequestContextService,
    private readonly config: AppConfig,
  ) {}

  // Keys are freed a little after their time, by every replica alike (the UPDATE is idempotent).
  onModuleInit(): void {
    const every = Math.min(3_600_000, Math.max(250, Math.floor(this.config.idempotencyTtlMs / 4)));
    this.expiry = setInterval(() => void this.expireIdempotencyKeys(), every);
    this.expiry.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.expiry);
  }

  private async expireIdempotencyKeys(): Promise<void> {
    try {
      await this.repository.expireIdempotencyKeys(new Date(Date.now() - this.config.idempotencyTtlMs));
    } catch (error) {
      this.logger.warn({ err: error }, 'Expiring idempotency keys failed; retried at the next interval');
    }
  }

  /**
   * Stores one submission (or returns the original for a repeated Idempotency-Key) once it is committed; the
   * row names the request it came in and its user. A key belongs to its caller, endpoint and target: another
   * caller's or another target's use of the same key is another submission, and the same key with another body
   * is refused (422), so a replay only ever returns the caller's own record. The caller is the user a gateway
   * vouched for, or else the client's address together with the user it claims: a claimed user id from
   * another address is another caller, so it neither replays nor learns about that user's keys.
   *
   * The row's rater (who counts towards the distinct raters a flag needs) is the vouched user, or else the
   * client's address: any number of claimed user ids from one address are one rater.
   */
  async submit(
    targetType: FeedbackTargetType,
    targetId: string | null,
    dto: SubmitFeedbackDto,
    idempotencyKey: string | undefined,
    caller: Caller,
  ): Promise<WriteResult> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new BadRequestException(['Idempotency-Key: must be 1-128 characters from A-Z a-z 0-9 . _ : -']);
    }
    if (dto.user_id) this.context.setUserId(dto.user_id);
    const category = dto.category ?? 'other';
    const row = Object.assign(new FeedbackEntity(), {
      id: randomUUID(),
      targetType,
      targetId,
      rating: dto.rating,
      comment: dto.comment ?? null,
      category,
      tags: dto.tags ?? [],
      metadata: dto.metadata ?? null,
      sentiment: sentimentOf(dto.rating, dto.comment),
      userId: dto.user_id ?? this.context.userId ?? null,
      requestId: this.context.requestId ?? null,
      idempotencyKey: null as string | null,
      requestFingerprint: null as string | null,
      rater: null as string | null,
      createdAt: new Date(),
    });
    const vouched = caller.vouchedUserId;
    row.rater = vouched ? `user:${vouched}` : `client:${sha256(caller.ip).slice(0, 32)}`;
    if (idempotencyKey !== undefined) {
      const who = vouched ? `user:${vouched}` : `client:${caller.ip}\u0000${row.userId ?? ''}`;
      row.idempotencyKey = sha256([who, targetType, targetId ?? '', idempotencyKey].join('\u0000'));
      row.requestFingerprint = fingerprint(row);
    }
    const result = await this.writer.write(row);
    if (result.replayed && result.record.requestFingerprint !== row.requestFingerprint) {
      throw new UnprocessableEntityException([
        'Idempotency-Key: already used for a different submission; use a new key for new feedback',
      ]);
    }
    if (!result.replayed) {
      this.business.feedbackReceived(targetType, category);
      this.logger.logBusinessEvent('feedback_received', {
        feedback_id: row.id,
        target_type: targetType,
        target_id: targetId,
        category,
        rating: row.rating,
        sentiment: row.sentiment,
      });
    }
    return result;
  }

  /** Newest first, with an opaque cursor for the next page. */
  async recent(query: RecentFeedbackQuery): Promise<RecentFeedback> {
    const limit = query.limit ?? 20;
    const rows = await this.repository.recentPage({
      limit,
      targetType: query.target_type,
      targetId: query.target_id,
      before: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toRecord),
      next_cursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
    };
  }

  /**
   * Totals and breakdowns from the roll-ups (whole hours and days) and the indexed rows of the partial hours at
   * the ends of the range: exact for any `since`, at a cost that follows the range, not the table.
   */
  async stats(query: FeedbackStatsQuery, now = new Date()): Promise<FeedbackStats> {
    this.readiness.assertReady();
    const key = `${query.target_type ?? ''}|${query.since ?? ''}`;
    let pending = this.computing.get(key);
    if (!pending) {
      pending = this.computeStats(query, now).finally(() => this.computing.delete(key));
      this.computing.set(key, pending);
    }
    return pending;
  }

  private async computeStats(query: FeedbackStatsQuery, now: Date): Promise<FeedbackStats> {
    const since = query.since ? new Date(query.since) : undefined;
    const type = query.target_type;
    const dayStart = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - (STATS_DAYS - 1) * DAY_MS);
    const atLeastSince = (from: Date) => (since && since > from ? since : from);
    const [all, last24h, daily] = await Promise.all([
      this.aggregates.cells({ from: since }, type),
      this.aggregates.cells({ from: atLeastSince(new Date(now.getTime() - DAY_MS)) }, type),
      this.aggregates.cells({ from: atLeastSince(dayStart) }, type),
    ]);
    const counts = <K extends string>(keys: readonly K[], of: (cell: Cell) => string) =>
      Object.fromEntries(keys.map((key) => [key, total(all, (cell) => of(cell) === key).count])) as Record<
        K,
        number
      >;
    const byTarget = (targetType: FeedbackTargetType) => {
      const s = total(all, (cell) => cell.target_type === targetType);
      return { count: s.count, average_rating: avg(s) };
    };
    const overall = total(all);
    const lastDay = total(last24h);
    return {
      total: overall.count,
      average_rating: avg(overall),
      by_target_type: {
        general: byTarget('general'),
        workflow: byTarget('workflow'),
        artwork: byTarget('artwork'),
      },
      by_category: counts(FEEDBACK_CATEGORIES, (cell) => cell.category),
      rating_distribution: counts(['1', '2', '3', '4', '5'] as const, (cell) => String(cell.rating)),
      sentiment: counts(SENTIMENTS, (cell) => cell.sentiment),
      last_24h: { count: lastDay.count, average_rating: avg(lastDay) },
      daily_average_rating: Array.from({ length: STATS_DAYS }, (_, i) => {
        const date = new Date(dayStart.getTime() + i * DAY_MS).toISOString().slice(0, 10);
        const s = total(daily, (cell) => cell.day === date);
        return { date, count: s.count, average_rating: avg(s) };
      }),
      filters: { target_type: query.target_type ?? null, since: since?.toISOString() ?? null },
    };
  }
}

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

function decodeCursor(cursor: string): [Date, string] {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(createdAt);
    // Only what this endpoint issues: an id the service made and a time both engines can store.
    if (
      typeof id === 'string' &&
      CURSOR_ID.test(id) &&
      date.getTime() >= 0 &&
      date.getUTCFullYear() < 10_000
    ) {
      return [date, id];
    }
  } catch {
    // fall through to the 400
  }
  throw new BadRequestException(['cursor: must be a next_cursor returned by this endpoint']);
}

// What makes two submissions the same request: every stored field a client sends, in a fixed order.
function fingerprint(row: FeedbackEntity): string {
  const metadata = row.metadata
    ? Object.fromEntries(Object.entries(row.metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : null;
  return sha256(
    JSON.stringify([
      row.targetType,
      row.targetId,
      row.rating,
      row.comment,
      row.category,
      row.tags,
      metadata,
      row.userId,
    ]),
  );
}
