import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Ip,
  Param,
  Post,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { WriteRateLimitGuard } from '@app/rate-limit';
import { FeedbackStatsQuery, RecentFeedbackQuery } from './dto/feedback-query.dto';
import { FeedbackReadGuard } from './feedback-read.guard';
import { toRecord, type FeedbackRecord } from './dto/feedback.response';
import { ArtworkTargetParams, SubmitFeedbackDto, WorkflowTargetParams } from './dto/submit-feedback.dto';
import type { FeedbackTargetType } from './entities/feedback.entity';
import { FeedbackService, type FeedbackStats, type RecentFeedback } from './feedback.service';
import type { FeedbackInsights } from './learning/insights.types';
import { LearningLoopService, type Rankings } from './learning/learning-loop.service';

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'A retried submission with the same key returns the original record and stores nothing new. A key belongs ' +
    'to its caller (user id, or client address when anonymous), endpoint and target, and replays for ' +
    'FEEDBACK_IDEMPOTENCY_TTL_MS; the same key with a different body is a 422.',
};

@ApiTags('feedback')
@Controller('api/feedback')
export class FeedbackController {
  constructor(
    private readonly feedback: FeedbackService,
    private readonly learning: LearningLoopService,
  ) {}

  @Post('submit')
  @UseGuards(WriteRateLimitGuard)
  @HttpCode(201)
  @ApiOperation({ summary: 'General user feedback' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiResponse({ status: 201, description: 'The stored record' })
  @ApiResponse({ status: 400, description: 'A field is invalid; the message names each one' })
  @ApiResponse({ status: 422, description: 'The Idempotency-Key was used for a different submission' })
  submit(
    @Body() dto: SubmitFeedbackDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Ip() ip: string,
  ): Promise<FeedbackRecord> {
    return this.store('general', null, dto, key, reply, ip);
  }

  @Post('workflow/:workflowId')
  @UseGuards(WriteRateLimitGuard)
  @HttpCode(201)
  @ApiOperation({ summary: 'Feedback on one workflow' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  submitForWorkflow(
    @Param() params: WorkflowTargetParams,
    @Body() dto: SubmitFeedbackDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Ip() ip: string,
  ): Promise<FeedbackRecord> {
    return this.store('workflow', params.workflowId, dto, key, reply, ip);
  }

  @Post('artwork/:artworkId')
  @UseGuards(WriteRateLimitGuard)
  @HttpCode(201)
  @ApiOperation({ summary: 'Feedback on one artwork' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  submitForArtwork(
    @Param() params: ArtworkTargetParams,
    @Body() dto: SubmitFeedbackDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Ip() ip: string,
  ): Promise<FeedbackRecord> {
    return this.store('artwork', params.artworkId, dto, key, reply, ip);
  }

  @Get('stats')
  @ApiOperation({
    summary: 'Totals, breakdowns, the last 24 hours and the daily average rating of the last 7 days',
  })
  stats(@Query() query: FeedbackStatsQuery): Promise<FeedbackStats> {
    return this.feedback.stats(query);
  }

  @Get('recent')
  @UseGuards(FeedbackReadGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Recent feedback, newest first, with cursor pagination (needs a read token)' })
  recent(@Query() query: RecentFeedbackQuery): Promise<RecentFeedback> {
    return this.feedback.recent(query);
  }

  @Get('rankings')
  @ApiOperation({
    summary:
      'Artwork styles and workflow types ranked by a Bayesian average of their ratings (refreshed with the insights)',
  })
  rankings(): Rankings {
    return this.learning.rankings();
  }

  @Get('insights')
  @ApiOperation({ summary: "The learning loop's latest insights" })
  insights(): FeedbackInsights {
    return this.learning.insights();
  }

  private async store(
    targetType: FeedbackTargetType,
    targetId: string | null,
    dto: SubmitFeedbackDto,
    key: string | undefined,
    reply: FastifyReply,
    ip: string,
  ): Promise<FeedbackRecord> {
    const { record, replayed } = await this.feedback.submit(targetType, targetId, dto, key, { ip });
    if (replayed) void reply.header('idempotent-replayed', 'true');
    return toRecord(record);
  }
}
