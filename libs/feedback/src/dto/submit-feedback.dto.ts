import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { FEEDBACK_CATEGORIES, type FeedbackCategory } from '../entities/feedback.entity';
import { IsFlatObject } from './flat-object.validator';
import { TOKEN, USER_ID } from '@app/common';

/** Workflow and artwork ids; user ids (the shared definitions in @app/common). */
export const ID_PATTERN = TOKEN;
export const USER_ID_PATTERN = USER_ID;
export const METADATA_MAX_BYTES = 4096;

export class SubmitFeedbackDto {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 5, example: 4, description: 'Whole stars, 1 to 5' })
  @IsInt()
  @Min(1)
  @Max(5)
  rating!: number;

  @ApiPropertyOptional({ maxLength: 5000, example: 'The constellation map rendered quickly.' })
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  comment?: string;

  @ApiPropertyOptional({ enum: FEEDBACK_CATEGORIES, description: 'Stored as "other" when absent' })
  @IsOptional()
  @IsIn(FEEDBACK_CATEGORIES)
  category?: FeedbackCategory;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', minLength: 1, maxLength: 50 },
    maxItems: 10,
    example: ['fast', 'map'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(50, { each: true })
  tags?: string[];

  @ApiPropertyOptional({
    description: 'Defaults to the x-user-id header',
    pattern: USER_ID_PATTERN.source,
    example: 'user-456',
  })
  @IsOptional()
  @IsString()
  @Matches(USER_ID_PATTERN, { message: 'user_id must be 1-128 characters from A-Z a-z 0-9 . _ : @ -' })
  user_id?: string;

  @ApiPropertyOptional({
    description: `A flat object (string, number, boolean or null values), at most ${METADATA_MAX_BYTES} bytes as JSON`,
    type: 'object',
    additionalProperties: {
      anyOf: [{ type: 'string', nullable: true }, { type: 'number' }, { type: 'boolean' }],
    },
    example: { client: 'web', build: 42 },
  })
  @IsOptional()
  @IsFlatObject(METADATA_MAX_BYTES)
  metadata?: Record<string, string | number | boolean | null>;
}

export class WorkflowTargetParams {
  @ApiProperty({ example: 'wf-123', pattern: ID_PATTERN.source })
  @Matches(ID_PATTERN, { message: 'workflowId must be 1-128 characters from A-Z a-z 0-9 _ . : -' })
  workflowId!: string;
}

export class ArtworkTargetParams {
  @ApiProperty({ example: 'art-7', pattern: ID_PATTERN.source })
  @Matches(ID_PATTERN, { message: 'artworkId must be 1-128 characters from A-Z a-z 0-9 _ . : -' })
  artworkId!: string;
}
