import { Readable } from 'node:stream';
import { Controller, Get, Headers, Res, UseGuards } from '@nestjs/common';
import Negotiator from 'negotiator';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors, ApiRequestHeaders, REQUEST_ID_RESPONSE_HEADER } from '@app/common';
import { MetricsService } from './metrics.service';
import { MetricsTokenGuard } from './metrics-token.guard';

// What /metrics speaks, the text format first: it is the answer to a client that states no preference.
const FORMATS = {
  'text/plain; version=0.0.4': 'prometheus',
  'application/openmetrics-text; version=1.0.0': 'openmetrics',
} as const;
const OFFERED = Object.keys(FORMATS);

/** GET /metrics: this app's registry in the Prometheus text format, or OpenMetrics 1.0 when asked for. */
@ApiTags('metrics')
@ApiRequestHeaders()
@Controller()
@UseGuards(MetricsTokenGuard)
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format or OpenMetrics)',
    description:
      'With METRICS_TOKEN set, it needs `Authorization: Bearer <METRICS_TOKEN>`; without, it is open. ' +
      'An `Accept` that prefers `application/openmetrics-text; version=1.0.0` (as Prometheus sends) gets ' +
      'OpenMetrics 1.0, with the latest request of each duration bucket and error counter as an exemplar ' +
      '`{trace_id="..."}`; anything else gets the text format 0.0.4.',
  })
  @ApiBearerAuth()
  @ApiResponse({
    status: 200,
    description: 'Every metric of the service, in the Prometheus text format (0.0.4) or OpenMetrics (1.0.0)',
    headers: REQUEST_ID_RESPONSE_HEADER,
    content: {
      'text/plain': {
        schema: { type: 'string', example: 'terra_constellata_requests_total{method="GET",route="/"} 42' },
      },
      'application/openmetrics-text': {
        schema: {
          type: 'string',
          example:
            'terra_constellata_request_duration_seconds_bucket{method="GET",route="/",status_code="200",le="0.005"} 42 # {trace_id="0af7651916cd43dd8448eb211c80319c"} 0.0012 1764770000.123',
        },
      },
    },
  })
  @ApiErrors(400, 401, 500, 503)
  async index(
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable> {
    const offered = new Negotiator({ headers: { accept } }).mediaType(OFFERED) as
      keyof typeof FORMATS | undefined;
    const { contentType, chunks } = await this.metrics.scrape(
      FORMATS[offered ?? 'text/plain; version=0.0.4'],
    );
    void reply.header('content-type', contentType).header('vary', 'accept');
    // Streamed (chunked) rather than joined: 10,000 series are 1.3 MB, and one string of that size is
    // milliseconds of copying and encoding during which no other request runs.
    return Readable.from(chunks);
  }
}
