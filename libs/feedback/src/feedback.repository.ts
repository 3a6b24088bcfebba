import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, In, LessThan } from 'typeorm';
import { FeedbackAggregatesRepository } from './aggregates/feedback-aggregates.repository';
import type { Plan } from './aggregates/sql-plan';
import { FeedbackInsightEntity } from './entities/feedback-insight.entity';
import { FeedbackEntity, type FeedbackTargetType } from './entities/feedback.entity';

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

export interface RecentPageQuery {
  limit: number;
  targetType?: FeedbackTargetType;
  targetId?: string;
  /** Rows strictly older than this (created_at, id) position. */
  before?: [Date, string];
}

/**
 * Every query on the feedback and feedback_insights tables: the group-commit INSERT (with its roll-ups, see
 * FeedbackAggregatesRepository), the paged reads and the learning loop's samples. The services above it hold no
 * SQL.
 */
@Injectable()
export class FeedbackRepository {
  readonly postgres: boolean;
  private readonly statements = new Map<number, string>();
  private readonly combined = new Map<number, string>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly aggregates: FeedbackAggregatesRepository,
  ) {
    this.postgres = dataSource.options.type === 'postgres';
  }

  /**
   * Inserts rows in one statement and their roll-ups in the same transaction. A row whose Idempotency-Key is
   * taken is skipped, not an error, so one retry cannot fail its neighbours, and it counts nowhere; the outcome
   * names the skipped rows and the originals that hold their keys.
   */
  async insertMany(rows: FeedbackEntity[]): Promise<InsertOutcome> {
    const storedIds = await this.aggregates.runner.transaction(() => this.insertPlan(rows), {
      // PostgreSQL writes the rows and their roll-ups in one statement, atomic without BEGIN and COMMIT.
      single: this.postgres,
    });
    const skipped = new Set<string>();
    const originals = new Map<string, FeedbackEntity>();
    for (const row of rows) if (!storedIds.has(row.id)) skipped.add(row.id);
    if (skipped.size > 0) {
      const keys = rows
        .filter((row) => skipped.has(row.id) && row.idempotencyKey)
        .map((row) => row.idempotencyKey!);
      for (const row of await this.repo().findBy({ idempotencyKey: In(keys) }))
        originals.set(row.idempotencyKey!, row);
    }
    return { skipped, originals };
  }

  private *insertPlan(rows: FeedbackEntity[]): Plan<Set<string>> {
    const params = rows.flatMap((row) => this.values(row));
    if (this.postgres) {
      const returned = yield { sql: this.withRollupsStatement(rows.length), params };
      return new Set(returned.map((row) => String(row.id)));
    }
    const returned = yield { sql: this.insertStatement(rows.length), params };
    const ids = new Set(returned.map((row) => String(row.id)));
    yield* this.aggregates.maintain(rows.filter((row) => ids.has(row.id)));
    return ids;
  }

  private withRollupsStatement(rows: number): string {
    let sql = this.combined.get(rows);
    if (!sql) {
      sql = this.aggregates.withRollups(this.insertStatement(rows));
      this.combined.set(rows, sql);
    }
    return sql;
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

  /** The newest `limit` negative ratings (1-2 stars) created up to `now`: their tags and comments. */
  newestNegative(now: Date, limit: number): Promise<Array<Pick<FeedbackEntity, 'tags' | 'comment'>>> {
    return this.repo()
      .createQueryBuilder('f')
      .select(['f.tags', 'f.comment'])
      .where('f.created_at <= :now AND f.rating <= 2', { now })
      .orderBy('f.created_at', 'DESC')
      .limit(limit)
      .getMany();
  }

  /**
   * Runs `work` on this replica only if no other replica runs it now (a PostgreSQL session advisory lock, held on
   * one connection for the duration); false when another holds it.
   */
  async asLeader<T>(lock: number, work: () => Promise<T>): Promise<T | false> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        lock,
      ])) as Array<{
        locked: boolean;
      }>;
      if (!locked) return false;
      try {
        return await work();
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [lock]);
      }
    } finally {
      await runner.release();
    }
  }

  /** When the newest stored insights were computed, or null when none are. */
  async latestInsightsAt(): Promise<Date | null> {
    const row = await this.dataSource
      .getRepository(FeedbackInsightEntity)
      .createQueryBuilder('i')
      .select('MAX(i.computed_at)', 'at')
      .getRawOne<{ at: Date | string | null }>();
    if (!row?.at) return null;
    return row.at instanceof Date ? row.at : new Date(`${row.at.replace(' ', 'T')}Z`);
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
      // Only a taken key (or id) is skipped; a row that breaks a CHECK fails the statement on both engines
      // (SQLite's INSERT OR IGNORE would skip it silently and the caller would be told it was stored).
      sql = `INSERT INTO "feedback" (${columns}) VALUES ${tuples} ON CONFLICT DO NOTHING RETURNING id`;
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
      this.aggregates.time(row.createdAt),
    ];
  }

  private repo() {
    return this.dataSource.getRepository(FeedbackEntity);
  }
}
