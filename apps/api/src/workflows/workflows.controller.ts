import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ReadRateLimitGuard, WriteRateLimitGuard } from '@app/rate-limit';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiRequestHeaders, ApiSuccess, RATE_LIMIT_HEADERS } from '@app/common';
import { FailWorkflowDto, RecordArtworkDto, StartWorkflowDto, WorkflowParams } from './workflow.dto';
import {
  ArtworkRecord,
  StartedWorkflowRecord,
  WorkflowRecord,
  WorkflowWithFeedbackRecord,
} from './workflow.response';
import { WorkflowsService } from './workflows.service';

@ApiTags('workflows')
@ApiRequestHeaders()
@ApiErrors(400, 429, 500, 503)
@Controller('api')
export class WorkflowsController {
  constructor(private readonly workflows: WorkflowsService) {}

  @UseGuards(WriteRateLimitGuard)
  @Post('workflows')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Start a workflow',
    description:
      'An artwork_generation workflow is answered with `recommended_style`: the artwork style users rate best, so the generator can use it.',
  })
  @ApiSuccess(201, 'The started workflow', { type: StartedWorkflowRecord }, RATE_LIMIT_HEADERS)
  @ApiErrors(413, 415)
  start(@Body() dto: StartWorkflowDto): Promise<StartedWorkflowRecord> {
    return this.workflows.start(dto.type, dto.input);
  }

  @Get('workflows/:id')
  @UseGuards(ReadRateLimitGuard)
  @ApiOperation({ summary: 'Read a workflow, with the feedback it has received' })
  @ApiSuccess(200, 'The workflow', { type: WorkflowWithFeedbackRecord }, RATE_LIMIT_HEADERS)
  @ApiErrors(404)
  get(@Param() params: WorkflowParams): Promise<WorkflowWithFeedbackRecord> {
    return this.workflows.get(params.id);
  }

  @UseGuards(WriteRateLimitGuard)
  @Post('workflows/:id/complete')
  @HttpCode(200)
  @ApiOperation({ summary: 'Complete a running workflow' })
  @ApiSuccess(200, 'The completed workflow', { type: WorkflowRecord }, RATE_LIMIT_HEADERS)
  @ApiErrors(404, 409, 413, 415)
  complete(@Param() params: WorkflowParams): Promise<WorkflowRecord> {
    return this.workflows.complete(params.id);
  }

  @UseGuards(WriteRateLimitGuard)
  @Post('workflows/:id/fail')
  @HttpCode(200)
  @ApiOperation({ summary: 'Fail a running workflow' })
  @ApiSuccess(200, 'The failed workflow', { type: WorkflowRecord }, RATE_LIMIT_HEADERS)
  @ApiErrors(404, 409, 413, 415)
  fail(@Param() params: WorkflowParams, @Body() dto: FailWorkflowDto): Promise<WorkflowRecord> {
    return this.workflows.fail(params.id, dto.error);
  }

  @UseGuards(WriteRateLimitGuard)
  @Post('artworks')
  @HttpCode(201)
  @ApiOperation({ summary: 'Record a generated artwork' })
  @ApiSuccess(201, 'The recorded artwork', { type: ArtworkRecord }, RATE_LIMIT_HEADERS)
  @ApiErrors(404, 413, 415)
  recordArtwork(@Body() dto: RecordArtworkDto): Promise<ArtworkRecord> {
    return this.workflows.recordArtwork(dto.workflow_id, dto.style);
  }
}
