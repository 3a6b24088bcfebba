export { FeedbackModule } from './feedback.module';
export { FeedbackService } from './feedback.service';
export { FeedbackStats, RecentFeedback } from './dto/feedback.response';
export { LearningLoopService, TREND_MIN_CHANGE, TREND_WINDOW_DAYS } from './learning/learning-loop.service';
export { Rankings, RecommendedStyle, TargetFeedbackSummary } from './dto/rankings.response';
export { rank, RANKING_PRIOR_WEIGHT, Ranking, RankedEntry } from './learning/ranking';
export { sentimentOf } from './learning/text-analysis';
export { FeedbackInsights, TargetInsight } from './learning/insights.types';
export { FeedbackRecord } from './dto/feedback.response';
export {
  FeedbackEntity,
  FEEDBACK_CATEGORIES,
  FEEDBACK_TARGET_TYPES,
  SENTIMENTS,
  type FeedbackCategory,
  type FeedbackTargetType,
  type Sentiment,
} from './entities/feedback.entity';
export { FeedbackInsightEntity } from './entities/feedback-insight.entity';
export { FeedbackRepository } from './feedback.repository';
export { FeedbackWriter, type WriteResult } from './feedback.writer';
export {
  FeedbackAggregatesRepository,
  segmentsOf,
  type Cell,
  type TargetTotals,
} from './aggregates/feedback-aggregates.repository';
export { FeedbackAggregatesService, AGGREGATES_LOCK } from './aggregates/feedback-aggregates.service';
export { rebuildAggregates, type RebuildSummary } from './aggregates/aggregates-rebuild';
export {
  RecommendationRandom,
  recommend,
  posteriorMean,
  type StyleArm,
  type RecommendationReason,
} from './learning/bandit';
export type { FeedbackModuleOptions } from './feedback.options';
