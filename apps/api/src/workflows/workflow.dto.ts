import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { ARTWORK_STYLES, WORKFLOW_TYPES } from './workflow.constants';

const NAME = /^[a-z0-9_]{1,64}$/;

export class StartWorkflowDto {
  @ApiProperty({
    example: 'artwork_generation',
    pattern: NAME.source,
    description: `Known types: ${WORKFLOW_TYPES.join(', ')}; others count as "other"`,
  })
  @Matches(NAME, { message: 'type must be 1-64 characters from a-z 0-9 _' })
  type!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: "The workflow's input, any JSON object; stored and returned as sent",
    example: { prompt: 'Orion over the sea' },
  })
  @IsOptional()
  @IsObject()
  input?: Record<string, unknown>;
}

export class FailWorkflowDto {
  @ApiProperty({ example: 'renderer ran out of memory', minLength: 1, maxLength: 2000 })
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  error!: string;
}

export class WorkflowParams {
  @ApiProperty({ format: 'uuid', example: '0b6f8f9e-8a53-4f4e-9a57-2f3a1c2d3e4f' })
  @IsUUID()
  id!: string;
}

export class RecordArtworkDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'The workflow that generated it' })
  @IsOptional()
  @IsUUID()
  workflow_id?: string;

  @ApiPropertyOptional({
    example: 'celestial',
    pattern: NAME.source,
    description: `Known styles: ${ARTWORK_STYLES.join(', ')}; default "other"`,
  })
  @IsOptional()
  @Matches(NAME, { message: 'style must be 1-64 characters from a-z 0-9 _' })
  style?: string;
}
