import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { FEEDBACK_TARGET_TYPES, type FeedbackTargetType } from '../entities/feedback.entity';
import { ID_PATTERN } from './submit-feedback.dto';

export class FeedbackStatsQuery {
  @ApiPropertyOptional({ enum: FEEDBACK_TARGET_TYPES })
  @IsOptional()
  @IsIn(FEEDBACK_TARGET_TYPES)
  target_type?: FeedbackTargetType;

  @ApiPropertyOptional({
    description: 'ISO 8601 date or time; only feedback from then on',
    example: '2026-11-01T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;
}

export class RecentFeedbackQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 100,
    description: 'Page size; 20 when absent',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({ enum: FEEDBACK_TARGET_TYPES })
  @IsOptional()
  @IsIn(FEEDBACK_TARGET_TYPES)
  target_type?: FeedbackTargetType;

  @ApiPropertyOptional({ example: 'wf-123' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'target_id must be 1-128 characters from A-Z a-z 0-9 _ . : -' })
  target_id?: string;
}
