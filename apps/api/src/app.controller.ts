import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiRequestHeaders, ApiSuccess } from '@app/common';
import { AppConfig, ENVIRONMENTS } from '@app/config';

/** What is running here. */
export class ServiceInfo {
  @ApiProperty({ example: 'terra_constellata' })
  service!: string;

  @ApiProperty({ example: '1.0.0' })
  version!: string;

  @ApiProperty({ enum: ENVIRONMENTS, example: 'production' })
  environment!: string;
}

@ApiTags('service')
@ApiRequestHeaders()
@ApiErrors(400, 500, 503)
@Controller()
export class AppController {
  private readonly info: ServiceInfo;

  constructor(config: AppConfig) {
    this.info = {
      service: 'terra_constellata',
      version: config.releaseVersion,
      environment: config.environment,
    };
  }

  /** What is running here: the cheapest endpoint, also the benchmarks' trivial JSON endpoint. */
  @Get()
  @ApiOperation({ summary: 'What is running here: service, version, environment' })
  @ApiSuccess(200, 'The service', { type: ServiceInfo })
  getInfo(): ServiceInfo {
    return this.info;
  }
}
