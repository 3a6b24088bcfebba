import { Readable } from 'node:stream';
import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors, ApiRequestHeaders, REQUEST_ID_RESPONSE_HEADER } from '@app/common';
import { MetricsService } from './metrics.service';
import { MetricsTokenGuard } from './metrics-token.guard';

/** GET /metrics: this app's registry in the Prometheus text format. */
@ApiTags('metrics')
@ApiRequestHeaders()
@Controller()
@UseGuards(MetricsTokenGuard)
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format)',
    description:
      'With METRICS_TOKEN set, it needs `Authorization: Bearer <METRICS_TOKEN>`; without, it is open.',
  })
  @ApiBearerAuth()
  @ApiResponse({
    status: 200,
    description: 'Every metric of the service, in the Prometheus text format (version 0.0.4)',
    headers: REQUEST_ID_RESPONSE_HEADER,
    content: {
      'text/plain': {
        schema: { type: 'string', example: 'terra_constellata_requests_total{method="GET",route="/"} 42' },
      },
    },
  })
  @ApiErrors(400, 401, 500, 503)
  async index(@Res({ passthrough: true }) reply: FastifyReply): Promise<Readable> {
    const { contentType, chunks } = await this.metrics.scrape();
    void reply.header('content-type', contentType);
    // Streamed (chunked) rather than joined: 10,000 series are 1.3 MB, and one string of that size is
    // milliseconds of copying and encoding during which no other request runs.
    return Readable.from(chunks);
  }
}
