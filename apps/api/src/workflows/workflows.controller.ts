import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { WriteRateLimitGuard } from '@app/rate-limit';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FailWorkflowDto, RecordArtworkDto, StartWorkflowDto, WorkflowParams } from './workflow.dto';
import {
  WorkflowsService,
  type ArtworkRecord,
  type StartedWorkflowRecord,
  type WorkflowRecord,
  type WorkflowWithFeedbackRecord,
} from './workflows.service';

@ApiTags('workflows')
@Controller('api')
export class WorkflowsController {
  constructor(private readonly workflows: WorkflowsService) {}

  @UseGuards(WriteRateLimitGuard)
  @Post('workflows')
  @HttpCode(201)
  @ApiOperation({ summary: 'Start a workflow' })
  start(@Body() dto: StartWorkflowDto): Promise<StartedWorkflowRecord> {
    return this.workflows.start(dto.type, dto.input);
  }

  @Get('workflows/:id')
  @ApiResponse({ status: 404, description: 'No such workflow' })
  get(@Param() params: WorkflowParams): Promise<WorkflowWithFeedbackRecord> {
    return this.workflows.get(params.id);
  }

  @UseGuards(WriteRateLimitGuard)
  @Post('workflows/:id/complete')
  @HttpCode(200)
  @ApiOperation({ summary: 'Complete a running workflow' })
  @ApiResponse({ status: 409, description: 'The workflow has already ended' })
  complete(@Param() params: WorkflowParams): Promise<WorkflowRecord> {
    return this.workflows.complete(params.id);
  }

  @UseGuards(WriteRateLimitGuard)
  @Post('workflows/:id/fail')
  @HttpCode(200)
  @ApiOperation({ summary: 'Fail a running workflow' })
  @ApiResponse({ status: 409, description: 'The workflow has already ended' })
  fail(@Param() params: WorkflowParams, @Body() dto: FailWorkflowDto): Promise<WorkflowRecord> {
    return this.workflows.fail(params.id, dto.error);
  }

  @UseGuards(WriteRateLimitGuard)
  @Post('artworks')
  @HttpCode(201)
  @ApiOperation({ summary: 'Record a generated artwork' })
  recordArtwork(@Body() dto: RecordArtworkDto): Promise<ArtworkRecord> {
    return this.workflows.recordArtwork(dto.workflow_id, dto.style);
  }
}
