import { ApiProperty } from '@nestjs/swagger';
import { countsOf } from '@app/common';
import { SENTIMENTS, type FeedbackTargetType, type Sentiment } from '../entities/feedback.entity';

export const TREND_DIRECTIONS = ['improving', 'stable', 'declining', 'insufficient_data'] as const;
export type TrendDirection = (typeof TREND_DIRECTIONS)[number];
export const INSIGHT_TRIGGERS = ['startup', 'schedule', 'request'] as const;

export class TargetInsight {
  @ApiProperty({ enum: ['workflow', 'artwork'], example: 'workflow' })
  target_type!: 'workflow' | 'artwork';

  @ApiProperty({ example: 'wf-123' })
  target_id!: string;

  @ApiProperty({ type: 'integer', minimum: 1, example: 6 })
  count!: number;

  /** Distinct users (or clients, when anonymous) among the ratings; flags need FEEDBACK_FLAG_MIN_RATINGS. */
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    example: 5,
    description: 'Distinct raters (users, or clients when anonymous)',
  })
  raters!: number;

  @ApiProperty({ example: 2.17 })
  average_rating!: number;

  @ApiProperty({
    example: true,
    description: 'Average under FEEDBACK_FLAG_THRESHOLD from FEEDBACK_FLAG_MIN_RATINGS raters or more',
  })
  flagged!: boolean;
}

class AverageByTargetType {
  @ApiProperty({ type: Number, nullable: true, example: 4.2 })
  general!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 3.9 })
  workflow!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: null })
  artwork!: number | null;
}

class ValueCount {
  @ApiProperty({ example: 'slow' })
  value!: string;

  @ApiProperty({ type: 'integer', minimum: 1, example: 3 })
  count!: number;
}

class NegativeFeedback {
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    example: 8,
    description: 'Ratings of 2 or less (sampled up to 5,000)',
  })
  count!: number;

  @ApiProperty({ type: [ValueCount] })
  top_tags!: ValueCount[];

  @ApiProperty({ type: [ValueCount] })
  top_words!: ValueCount[];
}

class Trend {
  @ApiProperty({ enum: TREND_DIRECTIONS, example: 'stable' })
  direction!: TrendDirection;

  @ApiProperty({ type: Number, nullable: true, example: 4.1 })
  recent_average!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 4.05 })
  previous_average!: number | null;

  @ApiProperty({ type: 'integer', minimum: 0, example: 12 })
  recent_count!: number;

  @ApiProperty({ type: 'integer', minimum: 0, example: 9 })
  previous_count!: number;
}

class TrendsByTargetType {
  @ApiProperty({ type: Trend })
  general!: Trend;

  @ApiProperty({ type: Trend })
  workflow!: Trend;

  @ApiProperty({ type: Trend })
  artwork!: Trend;
}

class Thresholds {
  @ApiProperty({ example: 2.5 })
  flag_threshold!: number;

  @ApiProperty({ type: 'integer', example: 5 })
  flag_min_ratings!: number;

  @ApiProperty({ type: 'integer', example: 7 })
  trend_window_days!: number;
}

/** The learning loop's latest insights. */
export class FeedbackInsights {
  @ApiProperty({
    format: 'date-time',
    description:
      'The time the insights were computed as of, by whichever replica recomputed them; a failing recompute keeps older ones served',
  })
  computed_at!: string;

  @ApiProperty({ format: 'date-time', description: 'When that recompute ended' })
  updated_at!: string;

  @ApiProperty({ enum: INSIGHT_TRIGGERS, example: 'schedule' })
  trigger!: (typeof INSIGHT_TRIGGERS)[number];

  @ApiProperty({ type: 'integer', minimum: 0, example: 42 })
  total_feedback!: number;

  @ApiProperty({ type: Number, nullable: true, example: 4.1 })
  average_rating!: number | null;

  @ApiProperty({ type: AverageByTargetType })
  average_rating_by_target_type!: Record<FeedbackTargetType, number | null>;

  @ApiProperty({ type: countsOf('InsightSentimentCounts', SENTIMENTS) })
  sentiment!: Record<Sentiment, number>;

  /** Workflows and artworks, worst average first (at most 500). */
  @ApiProperty({
    type: [TargetInsight],
    description: 'Workflows and artworks, worst average first (at most 500)',
  })
  targets!: TargetInsight[];

  @ApiProperty({ type: 'integer', minimum: 0, example: 17 })
  targets_total!: number;

  @ApiProperty({ type: [TargetInsight] })
  flagged_targets!: TargetInsight[];

  @ApiProperty({ type: NegativeFeedback })
  negative_feedback!: NegativeFeedback;

  @ApiProperty({ type: TrendsByTargetType })
  trends!: Record<FeedbackTargetType, Trend>;

  @ApiProperty({ type: Thresholds })
  thresholds!: Thresholds;
}
