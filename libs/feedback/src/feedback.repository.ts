import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, In, LessThan, type SelectQueryBuilder } from 'typeorm';
import { FeedbackInsightEntity } from './entities/feedback-insight.entity';
import { FeedbackEntity, type FeedbackTargetType, type Sentiment } from './entities/feedback.entity';

/** The advisory lock key of the learning loop's recompute (any constant unique to this service). */
const LEARNING_LOOP_LOCK = 7_203_114_501;

const DAY_MS = 86_400_000;

const COLUMNS = [
  'id',
  'target_type',
  'target_id',
  'rating',
  'comment',
  'category',
  'tags',
  'metadata',
  'sentiment',
  'user_id',
  'request_id',
  'idempotency_key',
  'request_fingerprint',
  'rater',
  'created_at',
];

/** What a multi-row insert did with rows that carry an Idempotency-Key already taken. */
export interface InsertOutcome {
  /** Ids of rows not stored because their key was taken. */
  skipped: Set<string>;
  /** The stored row for each taken key, by key. */
  originals: Map<string, FeedbackEntity>;
}

export interface FeedbackFilter {
  targetType?: FeedbackTargetType;
  since?: Date;
}

export interface RecentPageQuery {
  limit: number;
  targetType?: FeedbackTargetType;
  targetId?: string;
  /** Rows strictly older than this (created_at, id) position. */
  before?: [Date, string];
}

export interface GroupRow {
  key: string | number;
  count: string;
  average: string;
}

export interface TotalsRow {
  count: string;
  average: string;
}

export interface SumRow<K> {
  type: K;
  count: string;
  sum: string;
}

/**
 * Every query on the feedback and feedback_insights tables: the group-commit INSERT, the paged reads, the
 * statistics and the learning loop's aggregates. The services above it hold no SQL.
 */
@Injectable()
export class FeedbackRepository {
  readonly postgres: boolean;
  private readonly statements = new Map<number, string>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.postgres = dataSource.options.type === 'postgres';
  }

  /**
   * Inserts rows in one statement. A row whose Idempotency-Key is taken is skipped, not an error, so one retry
   * cannot fail its neighbours; the outcome names the skipped rows and the originals that hold their keys.
   */
  async insertMany(rows: FeedbackEntity[]): Promise<InsertOutcome> {
    await this.dataSource.query(
      this.insertStatement(rows.length),
      rows.flatMap((row) => this.values(row)),
    );
    const skipped = new Set<string>();
    const originals = new Map<string, FeedbackEntity>();
    const keyed = rows.filter((row) => row.idempotencyKey);
    if (keyed.length === 0) return { skipped, originals };
    const stored = await this.repo().find({
      select: { id: true },
      where: { id: In(keyed.map((row) => row.id)) },
    });
    const storedIds = new Set(stored.map((row) => row.id));
    for (const row of keyed) if (!storedIds.has(row.id)) skipped.add(row.id);
    if (skipped.size > 0) {
      const keys = keyed.filter((row) => skipped.has(row.id)).map((row) => row.idempotencyKey!);
      for (const row of await this.repo().findBy({ idempotencyKey: In(keys) }))
        originals.set(row.idempotencyKey!, row);
    }
    return { skipped, originals };
  }

  /** Frees the Idempotency-Keys of rows created before `cutoff`: a later request may use them again. */
  async expireIdempotencyKeys(cutoff: Date): Promise<void> {
    await this.repo()
      .createQueryBuilder()
      .update(FeedbackEntity)
      .set({ idempotencyKey: null })
      .where('idempotency_key IS NOT NULL AND created_at < :cutoff', { cutoff })
      .execute();
  }

  /** Newest first; one more row than `limit` when there is a next page. */
  recentPage(query: RecentPageQuery): Promise<FeedbackEntity[]> {
    const qb = this.repo()
      .createQueryBuilder('f')
      .orderBy('f.created_at', 'DESC')
      .addOrderBy('f.id', 'DESC')
      .limit(query.limit + 1);
    if (query.targetType) qb.andWhere('f.target_type = :targetType', { targetType: query.targetType });
    if (query.targetId) qb.andWhere('f.target_id = :targetId', { targetId: query.targetId });
    if (query.before) {
      const [createdAt, id] = query.before;
      qb.andWhere('(f.created_at < :createdAt OR (f.created_at = :createdAt AND f.id < :id))', {
        createdAt,
        id,
      });
    }
    return qb.getMany();
  }

  /** Counts and averages for the statistics endpoint, computed in the database. */
  async statistics(filter: FeedbackFilter, now: Date, days: number) {
    const base = () => {
      const qb = this.repo().createQueryBuilder('f');
      if (filter.targetType) qb.andWhere('f.target_type = :targetType', { targetType: filter.targetType });
      if (filter.since) qb.andWhere('f.created_at >= :since', { since: filter.since });
      return qb;
    };
    const grouped = (column: string) =>
      base()
        .select(`f.${column}`, 'key')
        .addSelect('COUNT(*)', 'count')
        .addSelect('AVG(f.rating)', 'average')
        .groupBy(`f.${column}`)
        .getRawMany<GroupRow>();
    const totals = (qb: SelectQueryBuilder<FeedbackEntity>) =>
      qb.select('COUNT(*)', 'count').addSelect('AVG(f.rating)', 'average').getRawOne<TotalsRow>();

    const dayStart = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - (days - 1) * DAY_MS);
    const dayExpression = this.postgres
      ? `to_char(f.created_at, 'YYYY-MM-DD')`
      : 'substr(f.created_at, 1, 10)';
    const [all, byType, byCategory, byRating, bySentiment, last24h, daily] = await Promise.all([
      totals(base()),
      grouped('target_type'),
      grouped('category'),
      grouped('rating'),
      grouped('sentiment'),
      totals(base().andWhere('f.created_at >= :dayAgo', { dayAgo: new Date(now.getTime() - DAY_MS) })),
      base()
        .andWhere('f.created_at >= :dayStart', { dayStart })
        .select(dayExpression, 'day')
        .addSelect('COUNT(*)', 'count')
        .addSelect('AVG(f.rating)', 'average')
        .groupBy(dayExpression)
        .getRawMany<{ day: string; count: string; average: string }>(),
    ]);
    return { all, byType, byCategory, byRating, bySentiment, last24h, daily, dayStart };
  }

  /** The learning loop's aggregates over everything created up to `now`. */
  async aggregatesUpTo(now: Date, negativeSample: number) {
    const upTo = () => this.repo().createQueryBuilder('f').where('f.created_at <= :now', { now });
    const [byType, bySentiment, byTarget, negatives, raters] = await Promise.all([
      upTo()
        .select('f.target_type', 'type')
        .addSelect('COUNT(*)', 'count')
        .addSelect('SUM(f.rating)', 'sum')
        .groupBy('f.target_type')
        .getRawMany<SumRow<FeedbackTargetType>>(),
      upTo()
        .select('f.sentiment', 'sentiment')
        .addSelect('COUNT(*)', 'count')
        .groupBy('f.sentiment')
        .getRawMany<{ sentiment: Sentiment; count: string }>(),
      upTo()
        .andWhere("f.target_type IN ('workflow', 'artwork')")
        .select('f.target_type', 'type')
        .addSelect('f.target_id', 'id')
        .addSelect('COUNT(*)', 'count')
        .addSelect('SUM(f.rating)', 'sum')
        .groupBy('f.target_type')
        .addGroupBy('f.target_id')
        .getRawMany<SumRow<'workflow' | 'artwork'> & { id: string }>(),
      upTo()
        .andWhere('f.rating <= 2')
        .select(['f.tags', 'f.comment'])
        .orderBy('f.created_at', 'DESC')
        .limit(negativeSample)
        .getMany(),
      // Who rated each workflow and artwork, once each: a target is flagged only by enough distinct raters.
      upTo()
        .andWhere("f.target_type IN ('workflow', 'artwork') AND f.rater IS NOT NULL")
        .select('f.target_type', 'type')
        .addSelect('f.target_id', 'id')
        .addSelect('f.rater', 'rater')
        .groupBy('f.target_type')
        .addGroupBy('f.target_id')
        .addGroupBy('f.rater')
        .getRawMany<{ type: 'workflow' | 'artwork'; id: string; rater: string }>(),
    ]);
    return { byType, bySentiment, byTarget, negatives, raters };
  }

  /**
   * Ratings of artworks by style and of workflows by type, up to `now`: the learning loop's rankings. The styles
   * and types live in the workflows module's tables (artworks, workflows), joined here by id.
   */
  async ratingsByStyleAndType(now: Date) {
    const grouped = (
      table: 'artworks' | 'workflows',
      column: 'style' | 'type',
      targetType: 'artwork' | 'workflow',
    ) =>
      this.repo()
        .createQueryBuilder('f')
        .innerJoin(table, 'g', 'g.id = f.target_id')
        .select(`g.${column}`, 'key')
        .addSelect('COUNT(*)', 'count')
        .addSelect('SUM(f.rating)', 'sum')
        .where('f.target_type = :targetType AND f.created_at <= :now', { targetType, now })
        .groupBy(`g.${column}`)
        .getRawMany<{ key: string; count: string; sum: string }>();
    const [styles, types] = await Promise.all([
      grouped('artworks', 'style', 'artwork'),
      grouped('workflows', 'type', 'workflow'),
    ]);
    const numbers = (rows: Array<{ key: string; count: string; sum: string }>) =>
      rows.map((r) => ({ key: r.key, count: Number(r.count), sum: Number(r.sum) }));
    return { styles: numbers(styles), types: numbers(types) };
  }

  /** Counts and rating sums per target type in the window before `now` and the one before it. */
  trendWindows(now: Date, windowMs: number) {
    const windowOf = `CASE WHEN f.created_at >= :recentStart THEN 'recent' ELSE 'previous' END`;
    return this.repo()
      .createQueryBuilder('f')
      .select('f.target_type', 'type')
      .addSelect(windowOf, 'window')
      .addSelect('COUNT(*)', 'count')
      .addSelect('SUM(f.rating)', 'sum')
      .where('f.created_at >= :previousStart AND f.created_at <= :now', {
        previousStart: new Date(now.getTime() - 2 * windowMs),
        recentStart: new Date(now.getTime() - windowMs),
        now,
      })
      .groupBy('f.target_type')
      .addGroupBy(windowOf)
      .getRawMany<SumRow<FeedbackTargetType> & { window: 'recent' | 'previous' }>();
  }

  /**
   * Runs `work` on this replica only if no other replica runs it now (a PostgreSQL session advisory lock, held on
   * one connection for the duration); false when another holds it.
   */
  async asLeader<T>(work: () => Promise<T>): Promise<T | false> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        LEARNING_LOOP_LOCK,
      ])) as Array<{ locked: boolean }>;
      if (!locked) return false;
      try {
        return await work();
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [LEARNING_LOOP_LOCK]);
      }
    } finally {
      await runner.release();
    }
  }

  /** The newest stored insights, if any. */
  latestInsights(): Promise<FeedbackInsightEntity | null> {
    return this.dataSource
      .getRepository(FeedbackInsightEntity)
      .createQueryBuilder('i')
      .orderBy('i.computed_at', 'DESC')
      .limit(1)
      .getOne();
  }

  /** One workflow's or artwork's ratings: how many, their sum, and how many distinct raters; null for none. */
  async targetTotals(type: 'workflow' | 'artwork', id: string) {
    const row = await this.repo()
      .createQueryBuilder('f')
      .select('COUNT(*)', 'count')
      .addSelect('SUM(f.rating)', 'sum')
      .addSelect('COUNT(DISTINCT f.rater)', 'raters')
      .where('f.target_type = :type AND f.target_id = :id', { type, id })
      .getRawOne<{ count: string; sum: string | null; raters: string }>();
    const count = Number(row?.count ?? 0);
    return count === 0 ? null : { count, sum: Number(row!.sum), raters: { size: Number(row!.raters) } };
  }

  /** Stores one set of insights and deletes those older than `keptDays`. */
  async storeInsights(computedAt: Date, trigger: string, payload: object, keptDays: number): Promise<void> {
    const insights = this.dataSource.getRepository(FeedbackInsightEntity);
    await insights.insert({ id: randomUUID(), computedAt, trigger, payload });
    await insights.delete({ computedAt: LessThan(new Date(computedAt.getTime() - keptDays * DAY_MS)) });
  }

  // The INSERT TypeORM's query builder would send, built once per batch size: its per-row entity handling
  // was the largest cost of a submission.
  private insertStatement(rows: number): string {
    let sql = this.statements.get(rows);
    if (!sql) {
      const width = COLUMNS.length;
      const tuples = Array.from({ length: rows }, (_, r) =>
        this.postgres
          ? `(${COLUMNS.map((_c, c) => `$${r * width + c + 1}`).join(', ')})`
          : `(${COLUMNS.map(() => '?').join(', ')})`,
      ).join(', ');
      const columns = COLUMNS.map((c) => `"${c}"`).join(', ');
      sql = this.postgres
        ? `INSERT INTO "feedback" (${columns}) VALUES ${tuples} ON CONFLICT DO NOTHING`
        : `INSERT OR IGNORE INTO "feedback" (${columns}) VALUES ${tuples}`;
      this.statements.set(rows, sql);
    }
    return sql;
  }

  private values(row: FeedbackEntity): unknown[] {
    return [
      row.id,
      row.targetType,
      row.targetId,
      row.rating,
      row.comment,
      row.category,
      JSON.stringify(row.tags),
      row.metadata === null ? null : JSON.stringify(row.metadata),
      row.sentiment,
      row.userId,
      row.requestId,
      row.idempotencyKey,
      row.requestFingerprint,
      row.rater,
      // PostgreSQL takes the Date (written as UTC, see @app/database); SQLite stores TypeORM's UTC text form.
      this.postgres ? row.createdAt : row.createdAt.toISOString().replace('T', ' ').replace('Z', ''),
    ];
  }

  private repo() {
    return this.dataSource.getRepository(FeedbackEntity);
  }
}
