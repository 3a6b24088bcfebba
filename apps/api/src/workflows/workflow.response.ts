import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RecommendedStyle, TargetFeedbackSummary } from '@app/feedback';
import { WORKFLOW_STATUSES, type WorkflowStatus } from './entities/workflow.entity';

/** A workflow as the API shows it. */
export class WorkflowRecord {
  @ApiProperty({ format: 'uuid', example: '0b6f8f9e-8a53-4f4e-9a57-2f3a1c2d3e4f' })
  id!: string;

  @ApiProperty({ example: 'artwork_generation' })
  type!: string;

  @ApiProperty({ enum: WORKFLOW_STATUSES, example: 'running' })
  status!: WorkflowStatus;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    example: { prompt: 'Orion over the sea' },
  })
  input!: object | null;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Why it failed; null otherwise' })
  error!: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-11-30T08:00:00.000Z' })
  started_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  ended_at!: string | null;
}

/** A started workflow; an artwork_generation one carries the style the users rate best. */
export class StartedWorkflowRecord extends WorkflowRecord {
  @ApiPropertyOptional({
    type: RecommendedStyle,
    description: 'artwork_generation workflows only: the best-ranked artwork style',
  })
  recommended_style?: RecommendedStyle;
}

/** A workflow with the feedback it has received. */
export class WorkflowWithFeedbackRecord extends WorkflowRecord {
  @ApiProperty({ type: TargetFeedbackSummary })
  feedback!: TargetFeedbackSummary;
}

/** A recorded artwork. */
export class ArtworkRecord {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  workflow_id!: string | null;

  @ApiProperty({ example: 'celestial' })
  style!: string;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;
}
