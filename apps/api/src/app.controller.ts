import { Controller, Get } from '@nestjs/common';
import { AppConfig } from '@app/config';

export interface ServiceInfo {
  service: string;
  version: string;
  environment: string;
}

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
  getInfo(): ServiceInfo {
    return this.info;
  }
}
