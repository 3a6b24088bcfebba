import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { AppConfig } from '@app/config';
import { AppLogger } from '@app/logging';
import { BusinessMetrics, MetricCollectors, METRICS } from '@app/metrics';
import { FEEDBACK_TARGET_TYPES, type FeedbackTargetType, type Sentiment } from '../entities/feedback.entity';
import { FeedbackRepository } from '../feedback.repository';
import {
  FeedbackAggregatesRepository,
  type Cell,
  type RatedTargetType,
  type TargetTotals,
} from '../aggregates/feedback-aggregates.repository';
import { FeedbackAggregatesService } from '../aggregates/feedback-aggregates.service';
import type { FeedbackInsights, TargetInsight, TrendDirection } from './insights.types';
import { RecommendedStyle, Rankings, TargetFeedbackSummary } from '../dto/rankings.response';
import { FEEDBACK_MODULE_OPTIONS, type FeedbackModuleOptions } from '../feedback.options';
import { confidentlyBelow, recommend, RecommendationRandom, type StyleArm } from './bandit';
import { rank, type RatingGroup } from './ranking';
import { topCounts, words } from './text-analysis';

const DAY_MS = 86_400_000;
export const TREND_WINDOW_DAYS = 7;
/** Average ratings of two windows must differ by more than this for a trend to be called. */
export const TREND_MIN_CHANGE = 0.25;
const TREND_MIN_COUNT = 3;
const MAX_TARGETS_LISTED = 500;
const NEGATIVE_SAMPLE = 5000;
const INSIGHTS_KEPT_DAYS = 7;
/** The advisory lock key of the learning loop's recompute (any constant unique to this service). */
const LEARNING_LOOP_LOCK = 7_203_114_501;

interface Sum {
  count: number;
  sum: number;
}

const average = (s: Sum | undefined) => (s && s.count > 0 ? Math.round((s.sum / s.count) * 100) / 100 : null);

/** What the store keeps of one recompute: the insights, the rankings, the flagged counts and the styles' posteriors. */
interface StoredInsights extends FeedbackInsights {
  rankings?: Rankings;
  flagged_by_type?: Record<RatedTargetType, number>;
  styles?: StyleArm[];
}

/**
 * The learning loop. On a schedule the insights are recomputed from the roll-ups and two bounded samples (the
 * newest negative feedback, the trend windows), with negative-feedback words and tags, rating trends and the
 * rankings, stored, and announced as a business event; its cost follows the number of rated targets, never the
 * number of rows.
 *
 * One replica per interval recomputes (on PostgreSQL it holds an advisory lock and finds the stored insights
 * older than the interval), and every replica serves the newest stored insights, so all of them answer the same
 * insights, rankings and gauges within one interval and dashboards may max() or avg() them. A failed recompute
 * keeps the previous insights served; their computed_at and the learning_loop_* metrics say how old they are.
 */
@Injectable()
export class LearningLoopService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private refresher: NodeJS.Timeout | undefined;
  private running: Promise<FeedbackInsights> | undefined;
  /** The newest stored insights, which every replica serves alike. */
  private shared: StoredInsights | undefined;
  private readonly startedAt = new Date();
  /** Every style of the catalog, unrated: what the generator chooses from before the first recompute. */
  private readonly catalog: StyleArm[];
  private readonly catalogStyles: Set<string>;

  constructor(
    private readonly repository: FeedbackRepository,
    private readonly aggregates: FeedbackAggregatesRepository,
    private readonly readiness: FeedbackAggregatesService,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
    collectors: MetricCollectors,
    private readonly business: BusinessMetrics,
    private readonly random: RecommendationRandom,
    @Inject(FEEDBACK_MODULE_OPTIONS) options: FeedbackModuleOptions,
    @InjectMetric(METRICS.learningLoopLastSuccess) private readonly lastSuccess: Gauge,
    @InjectMetric(METRICS.learningLoopDuration) private readonly duration: Histogram,
    @InjectMetric(METRICS.learningLoopFailures) private readonly failures: Counter,
  ) {
    this.catalog = options.artworkStyles.map((style) => ({
      style,
      count: 0,
      sum: 0,
      raters: 0,
      flagged: false,
    }));
    this.catalogStyles = new Set(options.artworkStyles);
    lastSuccess.set(0);
    failures.inc(0);
    collectors.register(METRICS.artworkStyleRatingAverage, (gauge) => {
      for (const arm of this.shared?.styles ?? []) {
        if (!this.catalogStyles.has(arm.style)) continue;
        if (arm.count === 0) gauge.remove({ style: arm.style });
        else gauge.set({ style: arm.style }, Math.round((arm.sum / arm.count) * 100) / 100);
      }
    });
    // Computed at scrape time from the insights served.
    collectors.register(METRICS.feedbackRatingAverage, (gauge) => {
      const averages = this.shared?.average_rating_by_target_type;
      for (const type of FEEDBACK_TARGET_TYPES) {
        const value = averages?.[type] ?? null;
        if (value === null) gauge.remove({ target_type: type });
        else gauge.set({ target_type: type }, value);
      }
    });
    collectors.register(METRICS.feedbackFlaggedTargets, (gauge) => {
      const counts = this.shared?.flagged_by_type;
      for (const type of ['workflow', 'artwork'] as const)
        gauge.set({ target_type: type }, counts?.[type] ?? 0);
    });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick('schedule'), this.config.insightsIntervalMs);
    this.timer.unref();
    // Between its own intervals a replica looks (one indexed MAX) for insights another replica stored, so all
    // of them serve the newest within a quarter of an interval.
    if (this.aggregates.postgres) {
      const every = Math.max(250, Math.floor(this.config.insightsIntervalMs / 4));
      this.refresher = setInterval(() => void this.refresh(), every);
      this.refresher.unref();
    }
    void this.tick('startup');
  }

  private async refresh(): Promise<void> {
    try {
      const at = await this.repository.latestInsightsAt();
      if (at && (!this.shared || at.getTime() > Date.parse(this.shared.computed_at))) await this.loadShared();
    } catch {
      // The next interval's tick reports database failures; a missed refresh only delays the newest insights.
    }
  }

  /** One interval: let one replica recompute, and load what it stored. */
  private async tick(trigger: FeedbackInsights['trigger']): Promise<void> {
    // Until the back-fill ends the roll-ups miss rows: the stored insights stay served.
    if (!this.readiness.isReady) return this.loadShared().catch(() => undefined);
    try {
      if (!this.aggregates.postgres) {
        await this.recompute(trigger);
        return;
      }
      // Fresh enough: computed by a replica within this interval (a little slack for timers that drift).
      const freshAfter = Date.now() - this.config.insightsIntervalMs * 0.8;
      const computed = await this.repository.asLeader(LEARNING_LOOP_LOCK, async () => {
        const latest = await this.repository.latestInsights();
        if (latest && latest.computedAt.getTime() > freshAfter) return false;
        await this.recompute(trigger);
        return true;
      });
      if (!computed) await this.loadShared();
    } catch (error) {
      this.failures.inc();
      this.logger.logException(
        error,
        'Learning loop: refreshing insights failed; the previous insights stay served',
        {
          trigger,
          insights_computed_at: this.shared?.computed_at ?? null,
        },
      );
    }
  }

  private async loadShared(): Promise<void> {
    const latest = await this.repository.latestInsights();
    if (latest) this.serve(latest.payload as StoredInsights);
  }

  private serve(stored: StoredInsights): void {
    this.shared = stored;
    this.lastSuccess.set(Date.parse(stored.computed_at) / 1000);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.refresher);
    await this.running?.catch(() => undefined);
  }

  /** The newest stored insights (empty ones before the first recompute). */
  insights(): FeedbackInsights {
    if (this.shared) {
      const { rankings: _rankings, flagged_by_type: _flagged, styles: _styles, ...insights } = this.shared;
      return insights;
    }
    const none = { count: 0, sum: 0 };
    const at = this.startedAt.toISOString();
    return {
      computed_at: at,
      updated_at: at,
      trigger: 'startup',
      total_feedback: 0,
      average_rating: null,
      average_rating_by_target_type: { general: null, workflow: null, artwork: null },
      sentiment: { positive: 0, neutral: 0, negative: 0 },
      targets: [],
      targets_total: 0,
      flagged_targets: [],
      negative_feedback: { count: 0, top_tags: [], top_words: [] },
      trends: this.trendsOf(
        { general: none, workflow: none, artwork: none },
        { general: none, workflow: none, artwork: none },
      ),
      thresholds: this.thresholds(),
    };
  }

  /** Artwork styles and workflow types ranked by their ratings, as of the last recompute. */
  rankings(): Rankings {
    return (
      this.shared?.rankings ?? {
        computed_at: this.startedAt.toISOString(),
        artwork_styles: rank([], this.config.flagMinRatings),
        workflow_types: rank([], this.config.flagMinRatings),
      }
    );
  }

  /**
   * The style the generator should use next: Thompson sampling over the posteriors of the last recompute (held
   * in memory, so no query), never a flagged style while another is available.
   */
  recommendedStyle(): RecommendedStyle {
    const chosen = recommend(this.shared?.styles ?? this.catalog, this.config.flagMinRatings, this.random);
    if (chosen.style !== null && chosen.reason !== null)
      this.business.styleRecommended(chosen.style, chosen.reason);
    return chosen;
  }

  /** The feedback a workflow or artwork has received, every committed submission included (one indexed read). */
  async targetSummary(type: RatedTargetType, id: string): Promise<TargetFeedbackSummary> {
    const target = await this.aggregates.target(type, id);
    if (!target) return { count: 0, average_rating: null, flagged: false };
    const insight = this.targetInsight(target);
    return { count: insight.count, average_rating: insight.average_rating, flagged: insight.flagged };
  }

  /** Recomputes everything from the roll-ups, stores it and logs `feedback_insight_generated`. */
  recompute(trigger: FeedbackInsights['trigger'], now = new Date()): Promise<FeedbackInsights> {
    this.running ??= this.timed(trigger, now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async timed(trigger: FeedbackInsights['trigger'], now: Date): Promise<FeedbackInsights> {
    const end = this.duration.startTimer();
    try {
      return await this.compute(trigger, now);
    } finally {
      end();
    }
  }

  private async compute(trigger: FeedbackInsights['trigger'], now: Date): Promise<FeedbackInsights> {
    this.readiness.assertReady();
    const window = TREND_WINDOW_DAYS * DAY_MS;
    const recentStart = new Date(now.getTime() - window);
    const [all, recent, previous, lowest, flagged, negatives, groups] = await Promise.all([
      this.aggregates.cells({}),
      this.aggregates.cells({ from: recentStart }),
      this.aggregates.cells({ from: new Date(now.getTime() - 2 * window), to: recentStart }),
      this.aggregates.lowestRated(MAX_TARGETS_LISTED),
      this.aggregates.flagged(this.config.flagMinRatings, this.config.flagThreshold, MAX_TARGETS_LISTED),
      this.repository.newestNegative(now, NEGATIVE_SAMPLE),
      this.aggregates.ratingsByStyleAndType(),
    ]);
    const withFlags = (rows: Array<RatingGroup & { raters: number }>) =>
      rows.map((row) => ({ ...row, flagged: this.groupFlagged(row) }));
    const styled = withFlags(groups.styles);
    const rankings: Rankings = {
      computed_at: now.toISOString(),
      artwork_styles: rank(styled, this.config.flagMinRatings),
      workflow_types: rank(withFlags(groups.types), this.config.flagMinRatings),
    };
    // The catalog, and any other style that has been rated.
    const rated = new Map(styled.map((row) => [row.key, row]));
    const styles: StyleArm[] = [
      ...this.catalog.map(
        (arm) => rated.get(arm.style) ?? { key: arm.style, count: 0, sum: 0, raters: 0, flagged: false },
      ),
      ...styled.filter((row) => !this.catalogStyles.has(row.key)),
    ].map((row) => ({
      style: row.key,
      count: row.count,
      sum: row.sum,
      raters: row.raters,
      flagged: row.flagged,
    }));
    const total = sumOf(all);
    const byType = sumsByType(all);
    const sentiment: Record<Sentiment, number> = { positive: 0, neutral: 0, negative: 0 };
    for (const cell of all) sentiment[cell.sentiment as Sentiment] += cell.count;

    const insights: FeedbackInsights = {
      computed_at: now.toISOString(),
      updated_at: new Date().toISOString(),
      trigger,
      total_feedback: total.count,
      average_rating: average(total),
      average_rating_by_target_type: {
        general: average(byType.general),
        workflow: average(byType.workflow),
        artwork: average(byType.artwork),
      },
      sentiment,
      targets: lowest.targets.map((t) => this.targetInsight(t)),
      targets_total: lowest.total,
      flagged_targets: flagged.targets.map((t) => this.targetInsight(t)),
      negative_feedback: {
        count: negatives.length,
        top_tags: topCounts(negatives.flatMap((f) => f.tags)),
        top_words: topCounts(negatives.flatMap((f) => words(f.comment))),
      },
      trends: this.trendsOf(sumsByType(recent), sumsByType(previous)),
      thresholds: this.thresholds(),
    };
    const stored: StoredInsights = { ...insights, rankings, flagged_by_type: flagged.byType, styles };
    await this.repository.storeInsights(now, trigger, stored, INSIGHTS_KEPT_DAYS);
    this.serve(stored);
    this.logger.logBusinessEvent('feedback_insight_generated', {
      trigger,
      total_feedback: insights.total_feedback,
      average_rating: insights.average_rating,
      flagged_targets: flagged.byType.artwork + flagged.byType.workflow,
      recommended_style: rankings.artwork_styles.entries[0]?.key ?? null,
      negative_feedback: insights.negative_feedback.count,
    });
    return insights;
  }

  private thresholds(): FeedbackInsights['thresholds'] {
    return {
      flag_threshold: this.config.flagThreshold,
      flag_min_ratings: this.config.flagMinRatings,
      trend_window_days: TREND_WINDOW_DAYS,
    };
  }

  private trendsOf(
    recentByType: Record<FeedbackTargetType, Sum>,
    previousByType: Record<FeedbackTargetType, Sum>,
  ): FeedbackInsights['trends'] {
    const trends = {} as FeedbackInsights['trends'];
    for (const type of FEEDBACK_TARGET_TYPES) {
      const recent = recentByType[type];
      const previous = previousByType[type];
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

  /**
   * A style or workflow type users dislike: under the flag threshold from enough raters (each of its targets
   * counting its own distinct raters; distinct raters across targets would need a scan of who rated what), or
   * below the threshold with 95 % posterior confidence however few raters there were.
   */
  private groupFlagged(group: { count: number; sum: number; raters: number }): boolean {
    const threshold = this.config.flagThreshold;
    return (
      (group.raters >= this.config.flagMinRatings && group.sum < threshold * group.count) ||
      confidentlyBelow(group, threshold)
    );
  }

  private targetInsight(t: TargetTotals): TargetInsight {
    return {
      target_type: t.type,
      target_id: t.id,
      count: t.count,
      average_rating: average(t)!,
      raters: t.raters,
      flagged: t.raters >= this.config.flagMinRatings && t.sum / t.count < this.config.flagThreshold,
    };
  }
}

function sumOf(cells: Cell[]): Sum {
  const s = { count: 0, sum: 0 };
  for (const cell of cells) {
    s.count += cell.count;
    s.sum += cell.sum;
  }
  return s;
}

function sumsByType(cells: Cell[]): Record<FeedbackTargetType, Sum> {
  const sums = {
    general: { count: 0, sum: 0 },
    workflow: { count: 0, sum: 0 },
    artwork: { count: 0, sum: 0 },
  };
  for (const cell of cells) {
    sums[cell.target_type].count += cell.count;
    sums[cell.target_type].sum += cell.sum;
  }
  return sums;
}
