import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { AppLogger } from '@app/logging';
import { MetricCollectors, METRICS } from '@app/metrics';
import {
  FeedbackEntity,
  FEEDBACK_TARGET_TYPES,
  type FeedbackTargetType,
  type Sentiment,
} from '../entities/feedback.entity';
import { FeedbackRepository } from '../feedback.repository';
import type { FeedbackInsights, TargetInsight, TrendDirection } from './insights.types';
import { RecommendedStyle, Rankings, TargetFeedbackSummary } from '../dto/rankings.response';
import { rank } from './ranking';
import { topCounts, words } from './text-analysis';

const DAY_MS = 86_400_000;
export const TREND_WINDOW_DAYS = 7;
/** Average ratings of two windows must differ by more than this for a trend to be called. */
export const TREND_MIN_CHANGE = 0.25;
const TREND_MIN_COUNT = 3;
const MAX_TARGETS_LISTED = 500;
const NEGATIVE_SAMPLE = 5000;
const INSIGHTS_KEPT_DAYS = 7;

interface Sum {
  count: number;
  sum: number;
}

interface Target extends Sum {
  type: 'workflow' | 'artwork';
  id: string;
  /** Distinct raters (users, or clients when anonymous): five ratings from one client flag nothing. */
  raters: Set<string>;
}

interface State {
  total: Sum;
  byType: Record<FeedbackTargetType, Sum>;
  sentiment: Record<Sentiment, number>;
  targets: Map<string, Target>;
}

interface Analysis {
  computedAt: Date;
  trigger: FeedbackInsights['trigger'];
  negative: FeedbackInsights['negative_feedback'];
  trends: FeedbackInsights['trends'];
}

const emptyState = (): State => ({
  total: { count: 0, sum: 0 },
  byType: { general: { count: 0, sum: 0 }, workflow: { count: 0, sum: 0 }, artwork: { count: 0, sum: 0 } },
  sentiment: { positive: 0, neutral: 0, negative: 0 },
  targets: new Map(),
});

const average = (s: Sum | undefined) => (s && s.count > 0 ? Math.round((s.sum / s.count) * 100) / 100 : null);

/** What a shared store keeps of one recompute: the insights and the rankings. */
interface StoredInsights extends FeedbackInsights {
  rankings?: Rankings;
}

/**
 * The learning loop. On a schedule the insights are recomputed from the database, with negative-feedback words
 * and tags, rating trends and the rankings, stored, and announced as a business event.
 *
 * On the embedded database (one process) every stored submission also updates running aggregates at once.
 * On PostgreSQL, which several replicas share, one replica per interval recomputes (it holds a PostgreSQL
 * advisory lock and finds the stored insights older than the interval), and every replica serves the newest
 * stored insights, so all of them answer the same insights, rankings and gauges within one interval and
 * dashboards may max() or avg() them.
 */
@Injectable()
export class LearningLoopService implements OnModuleInit, OnApplicationShutdown {
  private state = emptyState();
  private analysis: Analysis | undefined;
  private updatedAt = new Date();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<FeedbackInsights> | undefined;
  private recordedDuringRun: FeedbackEntity[] | undefined;
  private ranked: Rankings | undefined;
  /** PostgreSQL: the newest stored insights, which every replica serves alike. */
  private shared: StoredInsights | undefined;
  private readonly sharedStore: boolean;

  constructor(
    private readonly repository: FeedbackRepository,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
    collectors: MetricCollectors,
  ) {
    this.sharedStore = config.database.type === 'postgres';
    // Computed at scrape time from the insights served (shared store) or the running aggregates.
    collectors.register(METRICS.feedbackRatingAverage, (gauge) => {
      const averages = this.shared?.average_rating_by_target_type;
      for (const type of FEEDBACK_TARGET_TYPES) {
        const value = this.sharedStore ? (averages?.[type] ?? null) : average(this.state.byType[type]);
        if (value === null) gauge.remove({ target_type: type });
        else gauge.set({ target_type: type }, value);
      }
    });
    collectors.register(METRICS.feedbackFlaggedTargets, (gauge) => {
      const flagged = this.sharedStore ? (this.shared?.flagged_targets ?? []) : this.flagged();
      for (const type of ['workflow', 'artwork'] as const)
        gauge.set({ target_type: type }, flagged.filter((t) => t.target_type === type).length);
    });
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.tick('schedule'), this.config.insightsIntervalMs);
    this.timer.unref();
    void this.tick('startup');
  }

  /** One interval: recompute (embedded), or let one replica recompute and load what it stored (shared). */
  private async tick(trigger: FeedbackInsights['trigger']): Promise<void> {
    if (!this.sharedStore) return this.recomputeSafely(trigger);
    try {
      // Fresh enough: computed by a replica within this interval (a little slack for timers that drift).
      const freshAfter = Date.now() - this.config.insightsIntervalMs * 0.8;
      const computed = await this.repository.asLeader(async () => {
        const latest = await this.repository.latestInsights();
        if (latest && latest.computedAt.getTime() > freshAfter) return false;
        await this.recompute(trigger);
        return true;
      });
      if (!computed) await this.loadShared();
    } catch (error) {
      this.logger.logException(error, 'Learning loop: refreshing insights failed', { trigger });
    }
  }

  private async loadShared(): Promise<void> {
    const latest = await this.repository.latestInsights();
    if (latest) this.shared = latest.payload as StoredInsights;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Folds one stored submission into the running aggregates (embedded database only). */
  record(feedback: FeedbackEntity): void {
    if (this.sharedStore) return;
    this.recordedDuringRun?.push(feedback);
    this.apply(this.state, feedback);
    this.updatedAt = new Date();
  }

  /** The latest insights: the newest stored (shared store), or the last recompute with every submission since. */
  insights(): FeedbackInsights {
    if (this.sharedStore && this.shared) {
      const { rankings: _rankings, ...insights } = this.shared;
      return insights;
    }
    return this.currentInsights();
  }

  /** The in-memory aggregates as insights. */
  private currentInsights(): FeedbackInsights {
    const targets = [...this.state.targets.values()]
      .map((t) => this.targetInsight(t))
      .sort(
        (a, b) =>
          a.average_rating - b.average_rating || b.count - a.count || a.target_id.localeCompare(b.target_id),
      );
    const empty = { count: 0, top_tags: [], top_words: [] };
    return {
      computed_at: (this.analysis?.computedAt ?? this.updatedAt).toISOString(),
      updated_at: this.updatedAt.toISOString(),
      trigger: this.analysis?.trigger ?? 'startup',
      total_feedback: this.state.total.count,
      average_rating: average(this.state.total),
      average_rating_by_target_type: {
        general: average(this.state.byType.general),
        workflow: average(this.state.byType.workflow),
        artwork: average(this.state.byType.artwork),
      },
      sentiment: { ...this.state.sentiment },
      targets: targets.slice(0, MAX_TARGETS_LISTED),
      targets_total: targets.length,
      flagged_targets: targets.filter((t) => t.flagged),
      negative_feedback: this.analysis?.negative ?? empty,
      trends: this.analysis?.trends ?? this.noTrends(),
      thresholds: {
        flag_threshold: this.config.flagThreshold,
        flag_min_ratings: this.config.flagMinRatings,
        trend_window_days: TREND_WINDOW_DAYS,
      },
    };
  }

  /** Artwork styles and workflow types ranked by their ratings, as of the last recompute. */
  rankings(): Rankings {
    return (
      (this.sharedStore ? this.shared?.rankings : this.ranked) ?? {
        computed_at: this.updatedAt.toISOString(),
        artwork_styles: rank([], this.config.flagMinRatings),
        workflow_types: rank([], this.config.flagMinRatings),
      }
    );
  }

  /** The best-ranked artwork style (style null while no artwork has been rated). */
  recommendedStyle(): RecommendedStyle {
    const best = this.rankings().artwork_styles.entries[0];
    return best
      ? { style: best.key, score: best.score, count: best.count, enough_data: best.enough_data }
      : { style: null, score: null, count: 0, enough_data: false };
  }

  /** The feedback a workflow or artwork has received, every submission included. */
  async targetSummary(type: 'workflow' | 'artwork', id: string): Promise<TargetFeedbackSummary> {
    // Shared store: one indexed query, the same answer from every replica.
    const target = this.sharedStore
      ? await this.repository.targetTotals(type, id).then((t) => (t ? { type, id, ...t } : undefined))
      : this.state.targets.get(`${type}:${id}`);
    if (!target) return { count: 0, average_rating: null, flagged: false };
    const insight = this.targetInsight(target);
    return { count: insight.count, average_rating: insight.average_rating, flagged: insight.flagged };
  }

  /** Recomputes everything from the database, stores it and logs `feedback_insight_generated`. */
  recompute(trigger: FeedbackInsights['trigger'], now = new Date()): Promise<FeedbackInsights> {
    this.running ??= this.compute(trigger, now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async recomputeSafely(trigger: FeedbackInsights['trigger']): Promise<void> {
    try {
      await this.recompute(trigger);
    } catch (error) {
      this.logger.logException(error, 'Learning loop: recomputing insights failed', { trigger });
    }
  }

  private async compute(trigger: FeedbackInsights['trigger'], now: Date): Promise<FeedbackInsights> {
    this.recordedDuringRun = [];
    try {
      const [{ byType, bySentiment, byTarget, negatives, raters }, windows, groups] = await Promise.all([
        this.repository.aggregatesUpTo(now, NEGATIVE_SAMPLE),
        this.trendWindows(now),
        this.repository.ratingsByStyleAndType(now),
      ]);
      this.ranked = {
        computed_at: now.toISOString(),
        artwork_styles: rank(groups.styles, this.config.flagMinRatings),
        workflow_types: rank(groups.types, this.config.flagMinRatings),
      };

      const state = emptyState();
      for (const row of byType) {
        state.byType[row.type] = { count: Number(row.count), sum: Number(row.sum) };
        state.total.count += Number(row.count);
        state.total.sum += Number(row.sum);
      }
      for (const row of bySentiment) state.sentiment[row.sentiment] = Number(row.count);
      for (const row of byTarget) {
        state.targets.set(`${row.type}:${row.id}`, {
          type: row.type,
          id: row.id,
          count: Number(row.count),
          sum: Number(row.sum),
          raters: new Set(),
        });
      }
      for (const row of raters) state.targets.get(`${row.type}:${row.id}`)?.raters.add(row.rater);
      // Submissions stored while the queries ran and created after `now` are not in them: fold them in again.
      for (const late of this.recordedDuringRun) if (late.createdAt > now) this.apply(state, late);
      this.state = state;
      this.analysis = {
        computedAt: now,
        trigger,
        negative: {
          count: negatives.length,
          top_tags: topCounts(negatives.flatMap((f) => f.tags)),
          top_words: topCounts(negatives.flatMap((f) => words(f.comment))),
        },
        trends: windows,
      };
      this.updatedAt = new Date();
    } finally {
      this.recordedDuringRun = undefined;
    }

    const insights = this.currentInsights();
    const stored: StoredInsights = { ...insights, rankings: this.ranked };
    await this.repository.storeInsights(now, trigger, stored, INSIGHTS_KEPT_DAYS);
    this.shared = stored;
    this.logger.logBusinessEvent('feedback_insight_generated', {
      trigger,
      total_feedback: insights.total_feedback,
      average_rating: insights.average_rating,
      flagged_targets: insights.flagged_targets.length,
      recommended_style: this.recommendedStyle().style,
      negative_feedback: insights.negative_feedback.count,
    });
    return insights;
  }

  private async trendWindows(now: Date): Promise<FeedbackInsights['trends']> {
    const window = TREND_WINDOW_DAYS * DAY_MS;
    const rows = await this.repository.trendWindows(now, window);
    const trends = this.noTrends();
    for (const type of FEEDBACK_TARGET_TYPES) {
      const pick = (w: 'recent' | 'previous') => {
        const row = rows.find((r) => r.type === type && r.window === w);
        return { count: Number(row?.count ?? 0), sum: Number(row?.sum ?? 0) };
      };
      const recent = pick('recent');
      const previous = pick('previous');
      const recentAverage = average(recent);
      const previousAverage = average(previous);
      let direction: TrendDirection = 'insufficient_data';
      if (recent.count >= TREND_MIN_COUNT && previous.count >= TREND_MIN_COUNT) {
        const change = recentAverage! - previousAverage!;
        direction =
          change > TREND_MIN_CHANGE ? 'improving' : change < -TREND_MIN_CHANGE ? 'declining' : 'stable';
      }
      trends[type] = {
        direction,
        recent_average: recentAverage,
        previous_average: previousAverage,
        recent_count: recent.count,
        previous_count: previous.count,
      };
    }
    return trends;
  }

  private noTrends(): FeedbackInsights['trends'] {
    const none = () => ({
      direction: 'insufficient_data' as const,
      recent_average: null,
      previous_average: null,
      recent_count: 0,
      previous_count: 0,
    });
    return { general: none(), workflow: none(), artwork: none() };
  }

  private apply(state: State, feedback: FeedbackEntity): void {
    state.total.count++;
    state.total.sum += feedback.rating;
    state.byType[feedback.targetType].count++;
    state.byType[feedback.targetType].sum += feedback.rating;
    state.sentiment[feedback.sentiment]++;
    if (feedback.targetType !== 'general' && feedback.targetId) {
      const key = `${feedback.targetType}:${feedback.targetId}`;
      const target = state.targets.get(key) ?? {
        type: feedback.targetType,
        id: feedback.targetId,
        count: 0,
        sum: 0,
        raters: new Set<string>(),
      };
      target.count++;
      target.sum += feedback.rating;
      if (feedback.rater) target.raters.add(feedback.rater);
      state.targets.set(key, target);
    }
  }

  private flagged(): TargetInsight[] {
    const flagged: TargetInsight[] = [];
    for (const target of this.state.targets.values()) {
      const insight = this.targetInsight(target);
      if (insight.flagged) flagged.push(insight);
    }
    return flagged;
  }

  private targetInsight(
    t: Pick<Target, 'type' | 'id' | 'count' | 'sum'> & { raters: { size: number } },
  ): TargetInsight {
    const averageRating = average(t)!;
    return {
      target_type: t.type,
      target_id: t.id,
      count: t.count,
      average_rating: averageRating,
      raters: t.raters.size,
      flagged: t.raters.size >= this.config.flagMinRatings && t.sum / t.count < this.config.flagThreshold,
    };
  }
}
