import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '@app/config';
import type { FeedbackEntity, FeedbackTargetType } from '../entities/feedback.entity';
import { SqlPlanRunner, type Plan, type Row } from './sql-plan';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const RATED_TARGETS = ['artwork', 'workflow'] as const;
export type RatedTargetType = (typeof RATED_TARGETS)[number];
const DIMENSIONS = 'target_type, category, rating, sentiment';

/** Counts and rating sums of one day (or of all time: day '') and one combination of the dimensions. */
export interface Cell {
  day: string;
  target_type: FeedbackTargetType;
  category: string;
  rating: number;
  sentiment: string;
  count: number;
  sum: number;
}

/** One workflow's or artwork's totals. */
export interface TargetTotals {
  type: RatedTargetType;
  id: string;
  count: number;
  sum: number;
  raters: number;
}

export interface AggregatesState {
  status: 'backfill' | 'ready';
  progress: string | null;
}

/** A time range [from, to) of rows; either end open. */
export interface TimeRange {
  from?: Date;
  to?: Date;
}

type Segment = { grain: 'raw' | 'hour' | 'day'; from?: Date; to?: Date };

const hourKey = (d: Date) => {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 13)}`;
};
const dayKey = (d: Date) => d.toISOString().slice(0, 10);
const floorTo = (d: Date, unit: number) => new Date(Math.floor(d.getTime() / unit) * unit);
const ceilTo = (d: Date, unit: number) => new Date(Math.ceil(d.getTime() / unit) * unit);

/**
 * Splits [from, to) into whole UTC days, whole hours around them, and the partial hours at the ends, which are
 * read from the rows: exact for any bounds, and the rows read are at most two hours' worth.
 */
export function segmentsOf(range: TimeRange): Segment[] {
  const out: Segment[] = [];
  const push = (grain: Segment['grain'], from?: Date, to?: Date) => {
    if (from === undefined || to === undefined || from < to) out.push({ grain, from, to });
  };
  const { from, to } = range;
  if (!from) {
    if (!to) return [{ grain: 'day' }];
    const d2 = floorTo(to, DAY_MS);
    const h2 = floorTo(to, HOUR_MS);
    push('day', undefined, d2);
    push('hour', d2, h2);
    push('raw', h2, to);
    return out;
  }
  const h1 = ceilTo(from, HOUR_MS);
  const d1 = ceilTo(from, DAY_MS);
  if (!to) {
    push('raw', from, h1);
    push('hour', h1, d1);
    push('day', d1, undefined);
    return out;
  }
  const h2 = floorTo(to, HOUR_MS);
  const d2 = floorTo(to, DAY_MS);
  if (d1 <= d2) {
    push('raw', from, h1);
    push('hour', h1, d1);
    push('day', d1, d2);
    push('hour', d2, h2);
    push('raw', h2, to);
  } else if (h1 <= h2) {
    push('raw', from, h1);
    push('hour', h1, h2);
    push('raw', h2, to);
  } else {
    push('raw', from, to);
  }
  return out;
}

/**
 * The roll-ups of the feedback table and every query on them: per UTC hour, day and all time by target type,
 * category, rating and sentiment (`feedback_rollups`), per workflow and artwork (`feedback_targets`), and who
 * rated each (`feedback_target_raters`, so distinct raters stay exact). Writers keep them in the transaction of
 * their rows (`maintain`); `rebuild*` plans recount a bounded slice from the rows.
 */
@Injectable()
export class FeedbackAggregatesRepository {
  readonly runner: SqlPlanRunner;
  readonly postgres: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    this.runner = new SqlPlanRunner(dataSource, config.database.acquireTimeoutMs);
    this.postgres = this.runner.postgres;
  }

  /** A Date as this engine's stored form of `created_at`. */
  time(date: Date): unknown {
    return this.postgres ? date : date.toISOString().replace('T', ' ').replace('Z', '');
  }

  // ---- maintained by the writers -------------------------------------------------------------------------

  /**
   * SQLite: the roll-up upserts for rows just inserted in this transaction, one per touched key, in key order
   * (PostgreSQL does the same in SQL, `withRollups`).
   */
  *maintain(rows: FeedbackEntity[]): Plan<void> {
    if (rows.length === 0) return;
    const rated = rows.filter(
      (r): r is FeedbackEntity & { targetType: RatedTargetType; targetId: string } =>
        r.targetType !== 'general' && r.targetId !== null,
    );
    const byKey = <V>(map: Map<string, V>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1));

    if (rated.length > 0) {
      const raters = new Map<string, [string, string, string]>();
      for (const r of rated)
        if (r.rater)
          raters.set([r.targetType, r.targetId, r.rater].join('\u0000'), [r.targetType, r.targetId, r.rater]);
      const fresh = new Map<string, number>();
      if (raters.size > 0) {
        const p = this.runner.params();
        const values = byKey(raters).map(([, v]) => p.tuple(v));
        const inserted = yield {
          sql: `INSERT INTO feedback_target_raters (target_type, target_id, rater) VALUES ${values.join(', ')}
                ON CONFLICT DO NOTHING RETURNING target_type, target_id`,
          params: p.values,
        };
        for (const row of inserted) {
          const key = `${String(row.target_type)}\u0000${String(row.target_id)}`;
          fresh.set(key, (fresh.get(key) ?? 0) + 1);
        }
      }
      const targets = new Map<
        string,
        { type: string; id: string; count: number; sum: number; first: Date; last: Date }
      >();
      for (const r of rated) {
        const key = `${r.targetType}\u0000${r.targetId}`;
        const t = targets.get(key);
        if (!t)
          targets.set(key, {
            type: r.targetType,
            id: r.targetId,
            count: 1,
            sum: r.rating,
            first: r.createdAt,
            last: r.createdAt,
          });
        else {
          t.count++;
          t.sum += r.rating;
          if (r.createdAt < t.first) t.first = r.createdAt;
          if (r.createdAt > t.last) t.last = r.createdAt;
        }
      }
      const p = this.runner.params();
      const values = byKey(targets).map(([key, t]) =>
        p.tuple([t.type, t.id, t.count, t.sum, fresh.get(key) ?? 0, this.time(t.first), this.time(t.last)]),
      );
      yield {
        sql: `INSERT INTO feedback_targets (target_type, target_id, count, sum, raters, first_at, last_at)
              VALUES ${values.join(', ')}
              ON CONFLICT (target_type, target_id) DO UPDATE SET
                count = feedback_targets.count + excluded.count,
                sum = feedback_targets.sum + excluded.sum,
                raters = feedback_targets.raters + excluded.raters,
                first_at = CASE WHEN excluded.first_at < feedback_targets.first_at
                  THEN excluded.first_at ELSE feedback_targets.first_at END,
                last_at = CASE WHEN excluded.last_at > feedback_targets.last_at
                  THEN excluded.last_at ELSE feedback_targets.last_at END`,
        params: p.values,
      };
    }

    // The busiest rows (all time, this hour, this day) last: they are locked for the shortest time.
    const cells = new Map<string, [string, string, string, string, number, string, number, number]>();
    for (const r of rows) {
      for (const [grain, bucket] of [
        ['all', ''],
        ['day', dayKey(r.createdAt)],
        ['hour', hourKey(r.createdAt)],
      ] as const) {
        const key = [grain, bucket, r.targetType, r.category, r.rating, r.sentiment].join('\u0000');
        const cell = cells.get(key);
        if (cell) {
          cell[6]++;
          cell[7] += r.rating;
        } else cells.set(key, [grain, bucket, r.targetType, r.category, r.rating, r.sentiment, 1, r.rating]);
      }
    }
    const p = this.runner.params();
    const values = byKey(cells).map(([, v]) => p.tuple(v));
    yield {
      sql: `INSERT INTO feedback_rollups (grain, bucket, ${DIMENSIONS}, count, sum) VALUES ${values.join(', ')}
            ON CONFLICT (grain, bucket, ${DIMENSIONS}) DO UPDATE SET
              count = feedback_rollups.count + excluded.count, sum = feedback_rollups.sum + excluded.sum`,
      params: p.values,
    };
  }

  /**
   * PostgreSQL: `insert` (an `INSERT ... RETURNING` of feedback rows) and every roll-up upsert of the rows it
   * inserts, as one statement of data-modifying CTEs: one round trip and no explicit transaction, so the busiest
   * roll-up rows are locked only while it runs and commits. (Four statements in a transaction cost 22 % of the
   * write rate here; this form is measured in bench/README.md, scenario growth.) The keys are grouped and sorted
   * in SQL as `maintain` sorts them in JavaScript, and the buckets are the same text.
   */
  withRollups(insert: string): string {
    const rated = "target_type <> 'general' AND target_id IS NOT NULL";
    return `WITH ins AS (${insert.replace(/RETURNING id$/, 'RETURNING id, target_type, target_id, rating, category, sentiment, rater, created_at')}),
      new_raters AS (
        INSERT INTO feedback_target_raters (target_type, target_id, rater)
        SELECT DISTINCT target_type, target_id, rater FROM ins WHERE ${rated} AND rater IS NOT NULL
        ORDER BY 1, 2, 3
        ON CONFLICT DO NOTHING RETURNING target_type, target_id),
      targets AS (
        INSERT INTO feedback_targets (target_type, target_id, count, sum, raters, first_at, last_at)
        SELECT t.target_type, t.target_id, t.count, t.sum, COALESCE(r.raters, 0), t.first_at, t.last_at
        FROM (SELECT target_type, target_id, COUNT(*) AS count, SUM(rating) AS sum, MIN(created_at) AS first_at,
                MAX(created_at) AS last_at
              FROM ins WHERE ${rated} GROUP BY target_type, target_id) t
        LEFT JOIN (SELECT target_type, target_id, COUNT(*) AS raters FROM new_raters GROUP BY target_type, target_id) r
          USING (target_type, target_id)
        ORDER BY 1, 2
        ON CONFLICT (target_type, target_id) DO UPDATE SET
          count = feedback_targets.count + excluded.count,
          sum = feedback_targets.sum + excluded.sum,
          raters = feedback_targets.raters + excluded.raters,
          first_at = LEAST(feedback_targets.first_at, excluded.first_at),
          last_at = GREATEST(feedback_targets.last_at, excluded.last_at)),
      rollups AS (
        INSERT INTO feedback_rollups (grain, bucket, ${DIMENSIONS}, count, sum)
        SELECT g.grain,
          CASE g.grain WHEN 'all' THEN '' WHEN 'day' THEN to_char(i.created_at, 'YYYY-MM-DD')
            ELSE to_char(i.created_at, 'YYYY-MM-DD HH24') END,
          i.target_type, i.category, i.rating, i.sentiment, COUNT(*), SUM(i.rating)
        FROM ins i CROSS JOIN (VALUES ('all'), ('day'), ('hour')) AS g (grain)
        GROUP BY 1, 2, 3, 4, 5, 6
        ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (grain, bucket, ${DIMENSIONS}) DO UPDATE SET
          count = feedback_rollups.count + excluded.count, sum = feedback_rollups.sum + excluded.sum)
      SELECT id FROM ins`;
  }

  // ---- reads ---------------------------------------------------------------------------------------------

  /**
   * Counts and sums by day and dimensions of the rows created in `range` (both ends open: all time, with day
   * ''), optionally of one target type: whole hours and days from the roll-ups, the partial hours at the ends
   * from the indexed rows.
   */
  async cells(range: TimeRange, targetType?: FeedbackTargetType): Promise<Cell[]> {
    if (!range.from && !range.to) return this.rollupCells('all', {}, targetType);
    const parts = await Promise.all(
      segmentsOf(range).map((s) =>
        s.grain === 'raw'
          ? this.rawCells(s.from!, s.to!, targetType)
          : this.rollupCells(s.grain, { from: s.from, to: s.to }, targetType),
      ),
    );
    return parts.flat();
  }

  private async rollupCells(
    grain: 'all' | 'day' | 'hour',
    range: TimeRange,
    targetType?: FeedbackTargetType,
  ): Promise<Cell[]> {
    const p = this.runner.params();
    const key = grain === 'hour' ? hourKey : dayKey;
    const where = [`grain = ${p.add(grain)}`];
    if (range.from) where.push(`bucket >= ${p.add(key(range.from))}`);
    if (range.to) where.push(`bucket < ${p.add(key(range.to))}`);
    if (targetType) where.push(`target_type = ${p.add(targetType)}`);
    // An hour's rows count towards its day.
    const day = grain === 'hour' ? 'substr(bucket, 1, 10)' : 'bucket';
    const rows = (await this.dataSource.query(
      `SELECT ${day} AS day, ${DIMENSIONS}, SUM(count) AS count, SUM(sum) AS sum FROM feedback_rollups
       WHERE ${where.join(' AND ')} GROUP BY ${day}, ${DIMENSIONS}`,
      p.values,
    )) as Row[];
    return rows.map(toCell);
  }

  private async rawCells(from: Date, to: Date, targetType?: FeedbackTargetType): Promise<Cell[]> {
    const p = this.runner.params();
    const where = [`created_at >= ${p.add(this.time(from))}`, `created_at < ${p.add(this.time(to))}`];
    if (targetType) where.push(`target_type = ${p.add(targetType)}`);
    const day = this.dayExpression();
    const rows = (await this.dataSource.query(
      `SELECT ${day} AS day, ${DIMENSIONS}, COUNT(*) AS count, SUM(rating) AS sum FROM feedback
       WHERE ${where.join(' AND ')} GROUP BY ${day}, ${DIMENSIONS}`,
      p.values,
    )) as Row[];
    return rows.map(toCell);
  }

  /** The lowest-rated targets first (then the most rated), at most `limit`, and how many there are. */
  async lowestRated(limit: number): Promise<{ targets: TargetTotals[]; total: number }> {
    const [rows, [{ total }]] = await Promise.all([
      this.dataSource.query(
        `SELECT target_type, target_id, count, sum, raters FROM feedback_targets
         ORDER BY (sum * 1.0) / count, count DESC, target_type, target_id LIMIT ${Number(limit)}`,
      ) as Promise<Row[]>,
      this.dataSource.query('SELECT COUNT(*) AS total FROM feedback_targets') as Promise<Row[]>,
    ]);
    return { targets: rows.map(toTarget), total: Number(total) };
  }

  /** Targets whose average is below `threshold` from at least `minRaters` raters: the first `limit`, and counts by type. */
  async flagged(minRaters: number, threshold: number, limit: number) {
    const p = this.runner.params();
    const where = `raters >= ${p.add(minRaters)} AND sum < count * CAST(${p.add(threshold)} AS DOUBLE PRECISION)`;
    const [rows, counts] = await Promise.all([
      this.dataSource.query(
        `SELECT target_type, target_id, count, sum, raters FROM feedback_targets WHERE ${where}
         ORDER BY (sum * 1.0) / count, count DESC, target_type, target_id LIMIT ${Number(limit)}`,
        p.values,
      ) as Promise<Row[]>,
      this.dataSource.query(
        `SELECT target_type, COUNT(*) AS count FROM feedback_targets WHERE ${where} GROUP BY target_type`,
        p.values,
      ) as Promise<Row[]>,
    ]);
    const byType: Record<RatedTargetType, number> = { artwork: 0, workflow: 0 };
    for (const row of counts) byType[row.target_type as RatedTargetType] = Number(row.count);
    return { targets: rows.map(toTarget), byType };
  }

  /** One workflow's or artwork's totals, or null when it has no ratings. */
  async target(type: RatedTargetType, id: string): Promise<TargetTotals | null> {
    const p = this.runner.params();
    const [row] = (await this.dataSource.query(
      `SELECT target_type, target_id, count, sum, raters FROM feedback_targets
       WHERE target_type = ${p.add(type)} AND target_id = ${p.add(id)}`,
      p.values,
    )) as Row[];
    return row ? toTarget(row) : null;
  }

  /**
   * Ratings of artworks by style and of workflows by type: the targets' totals joined with the workflows
   * module's tables by id (as many rows as rated targets, never the feedback rows).
   */
  async ratingsByStyleAndType() {
    const grouped = async (
      table: 'artworks' | 'workflows',
      column: 'style' | 'type',
      type: RatedTargetType,
    ) => {
      const rows = (await this.dataSource.query(
        `SELECT g.${column} AS key, SUM(t.count) AS count, SUM(t.sum) AS sum, SUM(t.raters) AS raters
         FROM feedback_targets t INNER JOIN ${table} g ON g.id = t.target_id
         WHERE t.target_type = '${type}' GROUP BY g.${column}`,
      )) as Row[];
      return rows.map((r) => ({
        key: String(r.key),
        count: Number(r.count),
        sum: Number(r.sum),
        raters: Number(r.raters),
      }));
    };
    const [styles, types] = await Promise.all([
      grouped('artworks', 'style', 'artwork'),
      grouped('workflows', 'type', 'workflow'),
    ]);
    return { styles, types };
  }

  // ---- state of the back-fill ----------------------------------------------------------------------------

  async state(): Promise<AggregatesState> {
    const [row] = (await this.dataSource.query(
      "SELECT status, progress FROM feedback_aggregates_state WHERE name = 'feedback'",
    )) as Row[];
    return {
      status: row?.status === 'backfill' ? 'backfill' : 'ready',
      progress: (row?.progress as string) ?? null,
    };
  }

  async setState(status: AggregatesState['status'], progress: string | null): Promise<void> {
    const p = this.runner.params();
    await this.dataSource.query(
      `UPDATE feedback_aggregates_state SET status = ${p.add(status)}, progress = ${p.add(progress)},
       updated_at = ${p.add(this.time(new Date()))} WHERE name = 'feedback'`,
      p.values,
    );
  }

  // ---- rebuilding from the rows --------------------------------------------------------------------------

  /** The first day at or after `from` (a 'YYYY-MM-DD' key) that has rows or roll-ups, or null. */
  async nextDay(from: string | null): Promise<string | null> {
    const r = this.runner.params();
    const rowsAfter = from ? `WHERE created_at >= ${r.add(this.time(new Date(`${from}T00:00:00Z`)))}` : '';
    const b = this.runner.params();
    const bucketsAfter = from ? `AND bucket >= ${b.add(from)}` : '';
    const [[raw], [rolled]] = (await Promise.all([
      this.dataSource.query(`SELECT MIN(created_at) AS at FROM feedback ${rowsAfter}`, r.values),
      this.dataSource.query(
        `SELECT MIN(bucket) AS day FROM feedback_rollups WHERE grain = 'day' ${bucketsAfter}`,
        b.values,
      ),
    ])) as Row[][];
    return dayBound([raw?.at, rolled?.day], 'first');
  }

  /** The last day with rows or roll-ups, for progress lines. */
  async lastDay(): Promise<string | null> {
    const [[raw], [rolled]] = (await Promise.all([
      this.dataSource.query('SELECT MAX(created_at) AS at FROM feedback'),
      this.dataSource.query("SELECT MAX(bucket) AS day FROM feedback_rollups WHERE grain = 'day'"),
    ])) as Row[][];
    return dayBound([raw?.at, rolled?.day], 'last');
  }

  /**
   * Recounts one UTC day's hour and day roll-ups from its rows. Writers are held off the roll-ups for the
   * transaction (PostgreSQL: EXCLUSIVE lock, reads go on; SQLite: the write lock), so a row committed before it
   * is recounted and one committed after it adds itself: each counts once.
   */
  *rebuildDay(day: string): Plan<number> {
    const from = new Date(`${day}T00:00:00Z`);
    const to = new Date(from.getTime() + DAY_MS);
    if (this.postgres) yield { sql: 'LOCK TABLE feedback_rollups IN EXCLUSIVE MODE', params: [] };
    const d = this.runner.params();
    yield {
      sql: `DELETE FROM feedback_rollups
            WHERE grain IN ('day', 'hour') AND bucket >= ${d.add(day)} AND bucket < ${d.add(dayKey(to))}`,
      params: d.values,
    };
    const p = this.runner.params();
    const hour = this.hourExpression();
    yield {
      sql: `INSERT INTO feedback_rollups (grain, bucket, ${DIMENSIONS}, count, sum)
            SELECT 'hour', ${hour}, ${DIMENSIONS}, COUNT(*), SUM(rating) FROM feedback
            WHERE created_at >= ${p.add(this.time(from))} AND created_at < ${p.add(this.time(to))}
            GROUP BY ${hour}, ${DIMENSIONS}`,
      params: p.values,
    };
    let q = this.runner.params();
    yield {
      sql: `INSERT INTO feedback_rollups (grain, bucket, ${DIMENSIONS}, count, sum)
            SELECT 'day', substr(bucket, 1, 10), ${DIMENSIONS}, SUM(count), SUM(sum) FROM feedback_rollups
            WHERE grain = 'hour' AND bucket >= ${q.add(day)} AND bucket < ${q.add(dayKey(to))}
            GROUP BY substr(bucket, 1, 10), ${DIMENSIONS}`,
      params: q.values,
    };
    q = this.runner.params();
    const [{ count }] = yield {
      sql: `SELECT COALESCE(SUM(count), 0) AS count FROM feedback_rollups
            WHERE grain = 'day' AND bucket = ${q.add(day)}`,
      params: q.values,
    };
    return Number(count);
  }

  /** Recounts the all-time roll-ups from the day roll-ups (exact once every day is). */
  *rebuildAllTime(): Plan<void> {
    if (this.postgres) yield { sql: 'LOCK TABLE feedback_rollups IN EXCLUSIVE MODE', params: [] };
    yield { sql: "DELETE FROM feedback_rollups WHERE grain = 'all'", params: [] };
    yield {
      sql: `INSERT INTO feedback_rollups (grain, bucket, ${DIMENSIONS}, count, sum)
            SELECT 'all', '', ${DIMENSIONS}, SUM(count), SUM(sum) FROM feedback_rollups
            WHERE grain = 'day' GROUP BY ${DIMENSIONS}`,
      params: [],
    };
  }

  /**
   * The id that ends a slice of about `rows` rated rows of `type` after `after` (null: from the first), or null
   * when the rest is smaller: the bounds of one bounded target rebuild.
   */
  async targetBoundary(type: RatedTargetType, after: string | null, rows: number): Promise<string | null> {
    const p = this.runner.params();
    const where = [
      `target_type = ${p.add(type)}`,
      after === null ? 'target_id IS NOT NULL' : `target_id > ${p.add(after)}`,
    ];
    const [row] = (await this.dataSource.query(
      `SELECT target_id FROM feedback WHERE ${where.join(' AND ')} ORDER BY target_id LIMIT 1 OFFSET ${Number(rows)}`,
      p.values,
    )) as Row[];
    return row ? String(row.target_id) : null;
  }

  /**
   * Recounts the totals and raters of `type`'s targets with ids in (after, upTo] (open ends: null) from their
   * rows, holding writers off the two tables meanwhile; returns the rows counted.
   */
  *rebuildTargets(type: RatedTargetType, after: string | null, upTo: string | null): Plan<number> {
    if (this.postgres)
      yield { sql: 'LOCK TABLE feedback_target_raters, feedback_targets IN EXCLUSIVE MODE', params: [] };
    const range = (p: ReturnType<SqlPlanRunner['params']>) => {
      const where = [`target_type = ${p.add(type)}`, 'target_id IS NOT NULL'];
      if (after !== null) where.push(`target_id > ${p.add(after)}`);
      if (upTo !== null) where.push(`target_id <= ${p.add(upTo)}`);
      return where.join(' AND ');
    };
    for (const table of ['feedback_target_raters', 'feedback_targets']) {
      const p = this.runner.params();
      yield { sql: `DELETE FROM ${table} WHERE ${range(p)}`, params: p.values };
    }
    let p = this.runner.params();
    yield {
      sql: `INSERT INTO feedback_target_raters (target_type, target_id, rater)
            SELECT DISTINCT target_type, target_id, rater FROM feedback WHERE ${range(p)} AND rater IS NOT NULL`,
      params: p.values,
    };
    p = this.runner.params();
    yield {
      sql: `INSERT INTO feedback_targets (target_type, target_id, count, sum, raters, first_at, last_at)
            SELECT target_type, target_id, COUNT(*), SUM(rating), COUNT(DISTINCT rater), MIN(created_at),
              MAX(created_at)
            FROM feedback WHERE ${range(p)} GROUP BY target_type, target_id`,
      params: p.values,
    };
    p = this.runner.params();
    const [{ count }] = yield {
      sql: `SELECT COALESCE(SUM(count), 0) AS count FROM feedback_targets WHERE ${range(p)}`,
      params: p.values,
    };
    return Number(count);
  }

  private hourExpression(): string {
    return this.postgres ? `to_char(created_at, 'YYYY-MM-DD HH24')` : 'substr(created_at, 1, 13)';
  }

  private dayExpression(): string {
    return this.postgres ? `to_char(created_at, 'YYYY-MM-DD')` : 'substr(created_at, 1, 10)';
  }
}

// The first or last day of stored times (Date on PostgreSQL, UTC text on SQLite) and day keys, as a day key.
function dayBound(values: unknown[], which: 'first' | 'last'): string | null {
  const days = values
    .filter((v) => v !== null && v !== undefined)
    .map((v) =>
      v instanceof Date
        ? dayKey(v)
        : String(v).length > 10
          ? dayKey(new Date(`${String(v).replace(' ', 'T')}Z`))
          : String(v),
    )
    .sort();
  if (days.length === 0) return null;
  return which === 'first' ? days[0] : days[days.length - 1];
}

function toCell(row: Row): Cell {
  return {
    day: String(row.day ?? ''),
    target_type: row.target_type as FeedbackTargetType,
    category: String(row.category),
    rating: Number(row.rating),
    sentiment: String(row.sentiment),
    count: Number(row.count),
    sum: Number(row.sum),
  };
}

function toTarget(row: Row): TargetTotals {
  return {
    type: row.target_type as RatedTargetType,
    id: String(row.target_id),
    count: Number(row.count),
    sum: Number(row.sum),
    raters: Number(row.raters),
  };
}

export { RATED_TARGETS };
