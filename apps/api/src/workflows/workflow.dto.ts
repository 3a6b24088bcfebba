import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { ARTWORK_STYLES, WORKFLOW_TYPES } from './workflow.constants';

const NAME = /^[a-z0-9_]{1,64}$/;

export class StartWorkflowDto {
  @ApiProperty({
    example: 'artwork_generation',
    description: `Known types: ${WORKFLOW_TYPES.join(', ')}; others count as "other"`,
  })
  @Matches(NAME, { message: 'type must be 1-64 characters from a-z 0-9 _' })
  type!: string;

  @ApiPropertyOptional({ example: { prompt: 'Orion over the sea' } })
  @IsOptional()
  @IsObject()
  input?: Record<string, unknown>;
}

export class FailWorkflowDto {
  @ApiProperty({ example: 'renderer ran out of memory' })
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  error!: string;
}

export class WorkflowParams {
  @ApiProperty()
  @IsUUID()
  id!: string;
}

export class RecordArtworkDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  workflow_id?: string;

  @ApiPropertyOptional({ example: 'celestial', description: `Known styles: ${ARTWORK_STYLES.join(', ')}` })
  @IsOptional()
  @Matches(NAME, { message: 'style must be 1-64 characters from a-z 0-9 _' })
  style?: string;
}
