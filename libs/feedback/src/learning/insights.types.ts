import type { FeedbackTargetType, Sentiment } from '../entities/feedback.entity';

export type TrendDirection = 'improving' | 'stable' | 'declining' | 'insufficient_data';

export interface TargetInsight {
  target_type: 'workflow' | 'artwork';
  target_id: string;
  count: number;
  /** Distinct users (or clients, when anonymous) among the ratings; flags need FEEDBACK_FLAG_MIN_RATINGS. */
  raters: number;
  average_rating: number;
  flagged: boolean;
}

export interface FeedbackInsights {
  computed_at: string;
  updated_at: string;
  trigger: 'startup' | 'schedule' | 'request';
  total_feedback: number;
  average_rating: number | null;
  average_rating_by_target_type: Record<FeedbackTargetType, number | null>;
  sentiment: Record<Sentiment, number>;
  /** Workflows and artworks, worst average first (at most 500). */
  targets: TargetInsight[];
  targets_total: number;
  flagged_targets: TargetInsight[];
  negative_feedback: {
    count: number;
    top_tags: Array<{ value: string; count: number }>;
    top_words: Array<{ value: string; count: number }>;
  };
  trends: Record<
    FeedbackTargetType,
    {
      direction: TrendDirection;
      recent_average: number | null;
      previous_average: number | null;
      recent_count: number;
      previous_count: number;
    }
  >;
  thresholds: { flag_threshold: number; flag_min_ratings: number; trend_window_days: number };
}
