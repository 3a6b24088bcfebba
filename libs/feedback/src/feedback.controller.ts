import {
  applyDecorators,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  AGGREGATE_HEADERS,
  AggregateResponse,
  ApiErrors,
  ApiRequestHeaders,
  ApiSuccess,
  RATE_LIMIT_HEADERS,
  TOKEN_PATTERN,
} from '@app/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '@app/config';
import { ReadRateLimitGuard, WriteRateLimitGuard } from '@app/rate-limit';
import { FeedbackStatsQuery, RecentFeedbackQuery } from './dto/feedback-query.dto';
import { FeedbackReadGuard } from './feedback-read.guard';
import { FeedbackRecord, FeedbackStats, RecentFeedback, toRecord } from './dto/feedback.response';
import {
  ArtworkTargetParams,
  SubmitFeedbackDto,
  USER_ID_PATTERN,
  WorkflowTargetParams,
} from './dto/submit-feedback.dto';
import type { FeedbackTargetType } from './entities/feedback.entity';
import { callerOf, GATEWAY_SECRET_HEADER, gatewaySecretDigest } from './caller';
import { FeedbackService } from './feedback.service';
import { FeedbackInsights } from './learning/insights.types';
import { Rankings } from './dto/rankings.response';
import { LearningLoopService } from './learning/learning-loop.service';

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'A retried submission with the same key returns the original record and stores nothing new. A key belongs ' +
    'to its caller (the user a gateway vouches for, or else the client address with the claimed user id), ' +
    'endpoint and target, and replays for ' +
    'FEEDBACK_IDEMPOTENCY_TTL_MS; the same key with a different body is a 422.',
  schema: { type: 'string', pattern: TOKEN_PATTERN, maxLength: 128, example: 'submit-7f3a' },
} as const;

const USER_ID_HEADER = {
  name: 'x-user-id',
  required: false,
  description:
    "The user sending the feedback when the body has no user_id; it is written on the request's log lines. " +
    'A claim: it counts as a distinct rater only when a gateway vouches for it (x-gateway-secret).',
  schema: { type: 'string', pattern: USER_ID_PATTERN.source, example: 'user-456' },
} as const;

const GATEWAY_HEADER = {
  name: GATEWAY_SECRET_HEADER,
  required: false,
  description:
    'Sent by a gateway that authenticates users, never by clients: USER_ID_GATEWAY_SECRET, vouching for ' +
    'the x-user-id beside it. Any other value (or none) leaves x-user-id a claim.',
  schema: { type: 'string' },
} as const;

const READ_HEADERS = { ...AGGREGATE_HEADERS, ...RATE_LIMIT_HEADERS };

/** What every submission endpoint documents: body, headers, the stored record and its errors. */
function Submission(summary: string) {
  return applyDecorators(
    UseGuards(WriteRateLimitGuard),
    HttpCode(201),
    ApiOperation({ summary }),
    ApiHeader(IDEMPOTENCY_HEADER),
    ApiHeader(USER_ID_HEADER),
    ApiHeader(GATEWAY_HEADER),
    ApiSuccess(
      201,
      'The stored record (or, for a replayed Idempotency-Key, the original one)',
      { type: FeedbackRecord },
      {
        ...RATE_LIMIT_HEADERS,
        'idempotent-replayed': {
          description:
            'Present, "true", when the record is the one stored for an earlier request with this key',
          schema: { type: 'string', enum: ['true'] },
        },
      },
    ),
    ApiErrors(413, 415, 422),
  );
}

@ApiTags('feedback')
@ApiRequestHeaders()
@ApiErrors(400, 429, 500, 503)
@Controller('api/feedback')
export class FeedbackController {
  private readonly gatewaySecret: Buffer | undefined;

  constructor(
    private readonly feedback: FeedbackService,
    private readonly learning: LearningLoopService,
    config: AppConfig,
  ) {
    this.gatewaySecret = gatewaySecretDigest(config.userIdGatewaySecret);
  }

  @Post('submit')
  @Submission('Send general feedback')
  submit(
    @Body() dto: SubmitFeedbackDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Req() request: FastifyRequest,
  ): Promise<FeedbackRecord> {
    return this.store('general', null, dto, key, reply, request);
  }

  @Post('workflow/:workflowId')
  @Submission('Send feedback on one workflow')
  submitForWorkflow(
    @Param() params: WorkflowTargetParams,
    @Body() dto: SubmitFeedbackDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Req() request: FastifyRequest,
  ): Promise<FeedbackRecord> {
    return this.store('workflow', params.workflowId, dto, key, reply, request);
  }

  @Post('artwork/:artworkId')
  @Submission('Send feedback on one artwork')
  submitForArtwork(
    @Param() params: ArtworkTargetParams,
    @Body() dto: SubmitFeedbackDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Req() request: FastifyRequest,
  ): Promise<FeedbackRecord> {
    return this.store('artwork', params.artworkId, dto, key, reply, request);
  }

  @Get('stats')
  @UseGuards(ReadRateLimitGuard)
  @AggregateResponse()
  @ApiOperation({
    summary: 'Totals, breakdowns, the last 24 hours and the daily average rating of the last 7 days',
    description:
      'Read from roll-ups kept in the transaction of every stored submission (per UTC hour, day and all time), ' +
      'plus the rows of the partial hours at the ends of `since`: exact, and as fast at ten million rows as at ' +
      'ten. Identical concurrent requests share one computation. While the roll-ups are back-filled after an ' +
      'upgrade it answers 503 with the progress.',
  })
  @ApiSuccess(200, 'The statistics, for the filters given', { type: FeedbackStats }, READ_HEADERS)
  stats(@Query() query: FeedbackStatsQuery): Promise<FeedbackStats> {
    return this.feedback.stats(query);
  }

  @Get('recent')
  @UseGuards(ReadRateLimitGuard, FeedbackReadGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Recent feedback, newest first, with cursor pagination',
    description:
      'Individual feedback, so it needs `Authorization: Bearer <one of FEEDBACK_READ_TOKENS>`; in development, with none configured, it is open.',
  })
  @ApiSuccess(200, 'One page', { type: RecentFeedback }, RATE_LIMIT_HEADERS)
  @ApiErrors(401, 403)
  recent(@Query() query: RecentFeedbackQuery): Promise<RecentFeedback> {
    return this.feedback.recent(query);
  }

  @Get('rankings')
  @UseGuards(ReadRateLimitGuard)
  @AggregateResponse()
  @ApiOperation({
    summary:
      'Artwork styles and workflow types ranked by a Bayesian average of their ratings (refreshed with the insights)',
  })
  @ApiSuccess(200, 'The rankings of the last recompute', { type: Rankings }, READ_HEADERS)
  rankings(): Rankings {
    return this.learning.rankings();
  }

  @Get('insights')
  @UseGuards(ReadRateLimitGuard)
  @AggregateResponse()
  @ApiOperation({
    summary: "The learning loop's latest insights",
    description:
      'Recomputed from the roll-ups every FEEDBACK_INSIGHTS_INTERVAL_MS by one replica and served alike by all: a ' +
      'submission shows here (and in the rankings and the feedback gauges) at the next recompute. A ' +
      "workflow's own feedback summary (GET /api/workflows/{id}) counts it at once.",
  })
  @ApiSuccess(200, 'The newest recompute (computed_at says when)', { type: FeedbackInsights }, READ_HEADERS)
  insights(): FeedbackInsights {
    return this.learning.insights();
  }

  private async store(
    targetType: FeedbackTargetType,
    targetId: string | null,
    dto: SubmitFeedbackDto,
    key: string | undefined,
    reply: FastifyReply,
    request: FastifyRequest,
  ): Promise<FeedbackRecord> {
    const caller = callerOf(request, this.gatewaySecret);
    const { record, replayed } = await this.feedback.submit(targetType, targetId, dto, key, caller);
    if (replayed) void reply.header('idempotent-replayed', 'true');
    return toRecord(record);
  }
}
