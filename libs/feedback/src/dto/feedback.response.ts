import { ApiProperty } from '@nestjs/swagger';
import { countsOf } from '@app/common';
import {
  FEEDBACK_CATEGORIES,
  FEEDBACK_TARGET_TYPES,
  SENTIMENTS,
  type FeedbackEntity,
} from '../entities/feedback.entity';

const METADATA_VALUE = {
  anyOf: [{ type: 'string', nullable: true }, { type: 'number' }, { type: 'boolean' }],
};

/** The stored record as the API shows it. */
export class FeedbackRecord {
  @ApiProperty({ format: 'uuid', example: '3f2b8c1e-7a4d-4e8f-9b1c-2d3e4f5a6b7c' })
  id!: string;

  @ApiProperty({ enum: FEEDBACK_TARGET_TYPES, example: 'workflow' })
  target_type!: string;

  @ApiProperty({ type: String, nullable: true, example: 'wf-123', description: 'null for general feedback' })
  target_id!: string | null;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: 5, example: 4 })
  rating!: number;

  @ApiProperty({ type: String, nullable: true, example: 'The constellation map rendered quickly.' })
  comment!: string | null;

  @ApiProperty({ enum: FEEDBACK_CATEGORIES, example: 'performance' })
  category!: string;

  @ApiProperty({ type: [String], example: ['fast', 'map'] })
  tags!: string[];

  @ApiProperty({ type: String, nullable: true, example: 'user-456' })
  user_id!: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: METADATA_VALUE,
    nullable: true,
    example: { client: 'web', build: 42 },
  })
  metadata!: Record<string, string | number | boolean | null> | null;

  @ApiProperty({ enum: SENTIMENTS, example: 'positive' })
  sentiment!: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-30T08:00:00.000Z' })
  created_at!: string;
}

/** A page of individual feedback, newest first. */
export class RecentFeedback {
  @ApiProperty({ type: [FeedbackRecord] })
  items!: FeedbackRecord[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last page',
    example: 'WyIyMDI2LTExLTMwVDA4OjAwOjAwLjAwMFoiLCIzZjJiIl0',
  })
  next_cursor!: string | null;
}

class CountAndAverage {
  @ApiProperty({ type: 'integer', minimum: 0, example: 12 })
  count!: number;

  @ApiProperty({ type: Number, nullable: true, example: 4.25, description: 'null without ratings' })
  average_rating!: number | null;
}

class ByTargetType {
  @ApiProperty({ type: CountAndAverage })
  general!: CountAndAverage;

  @ApiProperty({ type: CountAndAverage })
  workflow!: CountAndAverage;

  @ApiProperty({ type: CountAndAverage })
  artwork!: CountAndAverage;
}

class DailyAverage {
  @ApiProperty({ format: 'date', example: '2026-11-30', description: 'UTC day' })
  date!: string;

  @ApiProperty({ type: 'integer', minimum: 0, example: 3 })
  count!: number;

  @ApiProperty({ type: Number, nullable: true, example: 4 })
  average_rating!: number | null;
}

class StatsFilters {
  @ApiProperty({ type: String, enum: [...FEEDBACK_TARGET_TYPES, null], nullable: true, example: null })
  target_type!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  since!: string | null;
}

/** Totals and breakdowns, computed in the database. */
export class FeedbackStats {
  @ApiProperty({ type: 'integer', minimum: 0, example: 42 })
  total!: number;

  @ApiProperty({ type: Number, nullable: true, example: 4.1 })
  average_rating!: number | null;

  @ApiProperty({ type: ByTargetType })
  by_target_type!: ByTargetType;

  @ApiProperty({
    type: countsOf('CategoryCounts', FEEDBACK_CATEGORIES),
    description: 'Feedback per category',
  })
  by_category!: Record<string, number>;

  @ApiProperty({
    type: countsOf('RatingCounts', ['1', '2', '3', '4', '5']),
    description: 'Feedback per rating',
  })
  rating_distribution!: Record<'1' | '2' | '3' | '4' | '5', number>;

  @ApiProperty({ type: countsOf('SentimentCounts', SENTIMENTS), description: 'Feedback per sentiment' })
  sentiment!: Record<string, number>;

  @ApiProperty({ type: CountAndAverage })
  last_24h!: CountAndAverage;

  @ApiProperty({ type: [DailyAverage], description: 'The last 7 UTC days, oldest first' })
  daily_average_rating!: DailyAverage[];

  @ApiProperty({ type: StatsFilters })
  filters!: StatsFilters;
}

export function toRecord(entity: FeedbackEntity): FeedbackRecord {
  return {
    id: entity.id,
    target_type: entity.targetType,
    target_id: entity.targetId,
    rating: entity.rating,
    comment: entity.comment,
    category: entity.category,
    tags: entity.tags,
    user_id: entity.userId,
    metadata: entity.metadata,
    sentiment: entity.sentiment,
    created_at: entity.createdAt.toISOString(),
  };
}
