import type { DataSource } from 'typeorm';
import { FeedbackEntity, type FeedbackStats, type FeedbackTargetType } from '@app/feedback';

const DAY_MS = 86_400_000;
const CATEGORIES = ['quality', 'performance', 'usability', 'bug', 'feature_request', 'other'] as const;
const SENTIMENTS = ['positive', 'neutral', 'negative'] as const;

/**
 * `GET /api/feedback/stats` as the service computed it before the roll-ups: `GROUP BY` over the whole feedback
 * table, in the database. The reference the roll-up answers must equal byte for byte.
 */
export async function rawStatistics(
  dataSource: DataSource,
  query: { target_type?: FeedbackTargetType; since?: string },
  now: Date,
): Promise<FeedbackStats> {
  const postgres = dataSource.options.type === 'postgres';
  const since = query.since ? new Date(query.since) : undefined;
  const base = () => {
    const qb = dataSource.getRepository(FeedbackEntity).createQueryBuilder('f');
    if (query.target_type) qb.andWhere('f.target_type = :targetType', { targetType: query.target_type });
    if (since) qb.andWhere('f.created_at >= :since', { since });
    return qb;
  };
  type Group = { key: string | number; count: string; average: string | null };
  const grouped = (column: string) =>
    base()
      .select(`f.${column}`, 'key')
      .addSelect('COUNT(*)', 'count')
      .addSelect('AVG(f.rating)', 'average')
      .groupBy(`f.${column}`)
      .getRawMany<Group>();
  const totals = (qb: ReturnType<typeof base>) =>
    qb.select('COUNT(*)', 'count').addSelect('AVG(f.rating)', 'average').getRawOne<Group>();
  const dayStart = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - 6 * DAY_MS);
  const day = postgres ? `to_char(f.created_at, 'YYYY-MM-DD')` : 'substr(f.created_at, 1, 10)';
  const [all, byType, byCategory, byRating, bySentiment, last24h, daily] = await Promise.all([
    totals(base()),
    grouped('target_type'),
    grouped('category'),
    grouped('rating'),
    grouped('sentiment'),
    totals(base().andWhere('f.created_at >= :dayAgo', { dayAgo: new Date(now.getTime() - DAY_MS) })),
    base()
      .andWhere('f.created_at >= :dayStart', { dayStart })
      .select(day, 'day')
      .addSelect('COUNT(*)', 'count')
      .addSelect('AVG(f.rating)', 'average')
      .groupBy(day)
      .getRawMany<{ day: string; count: string; average: string }>(),
  ]);
  const num = (v: unknown) => Number(v ?? 0);
  const avg = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 100) / 100);
  const fill = <K extends string>(keys: readonly K[], rows: Group[]) =>
    Object.fromEntries(keys.map((k) => [k, num(rows.find((r) => String(r.key) === k)?.count)])) as Record<
      K,
      number
    >;
  const byTarget = (type: string) => {
    const row = byType.find((r) => r.key === type);
    return { count: num(row?.count), average_rating: avg(row?.average) };
  };
  return {
    total: num(all?.count),
    average_rating: avg(all?.average),
    by_target_type: {
      general: byTarget('general'),
      workflow: byTarget('workflow'),
      artwork: byTarget('artwork'),
    },
    by_category: fill(CATEGORIES, byCategory),
    rating_distribution: fill(['1', '2', '3', '4', '5'] as const, byRating),
    sentiment: fill(SENTIMENTS, bySentiment),
    last_24h: { count: num(last24h?.count), average_rating: avg(last24h?.average) },
    daily_average_rating: Array.from({ length: 7 }, (_, i) => {
      const date = new Date(dayStart.getTime() + i * DAY_MS).toISOString().slice(0, 10);
      const row = daily.find((r) => r.day === date);
      return { date, count: num(row?.count), average_rating: avg(row?.average) };
    }),
    filters: { target_type: query.target_type ?? null, since: since?.toISOString() ?? null },
  };
}

/** Every workflow's and artwork's count, rating sum and distinct raters, by `GROUP BY` over the rows. */
export async function rawTargets(dataSource: DataSource) {
  const rows = (await dataSource.query(
    `SELECT target_type, target_id, COUNT(*) AS count, SUM(rating) AS sum, COUNT(DISTINCT rater) AS raters
     FROM feedback WHERE target_type <> 'general' AND target_id IS NOT NULL
     GROUP BY target_type, target_id ORDER BY target_type, target_id`,
  )) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    type: String(r.target_type),
    id: String(r.target_id),
    count: Number(r.count),
    sum: Number(r.sum),
    raters: Number(r.raters),
  }));
}

/** The roll-up tables' contents in a fixed order, to compare what the writers kept with a recount. */
export async function rollupContents(dataSource: DataSource) {
  const rollups = (await dataSource.query(
    `SELECT grain, bucket, target_type, category, rating, sentiment, count, sum FROM feedback_rollups
     WHERE count > 0 ORDER BY grain, bucket, target_type, category, rating, sentiment`,
  )) as Array<Record<string, unknown>>;
  const targets = (await dataSource.query(
    'SELECT target_type, target_id, count, sum, raters FROM feedback_targets ORDER BY target_type, target_id',
  )) as Array<Record<string, unknown>>;
  const raters = (await dataSource.query('SELECT COUNT(*) AS n FROM feedback_target_raters')) as Array<
    Record<string, unknown>
  >;
  const norm = (rows: Array<Record<string, unknown>>) =>
    rows.map((r) => Object.values(r).map((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v)));
  return { rollups: norm(rollups), targets: norm(targets), raters: Number(raters[0].n) };
}
