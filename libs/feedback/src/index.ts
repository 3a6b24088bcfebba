export { FeedbackModule } from './feedback.module';
export { FeedbackService, type FeedbackStats, type RecentFeedback } from './feedback.service';
export {
  LearningLoopService,
  TREND_MIN_CHANGE,
  TREND_WINDOW_DAYS,
  type Rankings,
  type RecommendedStyle,
  type TargetFeedbackSummary,
} from './learning/learning-loop.service';
export { rank, RANKING_PRIOR_WEIGHT, type Ranking, type RankedEntry } from './learning/ranking';
export { sentimentOf } from './learning/text-analysis';
export type { FeedbackInsights, TargetInsight } from './learning/insights.types';
export type { FeedbackRecord } from './dto/feedback.response';
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
