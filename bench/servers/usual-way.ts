// (e) The usual way: Nest on Express with the libraries' defaults: nestjs-pino (pino-http, full serialisers,
// a child logger and a line per request), a prom-client histogram through @willsoto/nestjs-prometheus and an
// interceptor, and SentryModule.forRoot() with SentryGlobalFilter.
// (f) The same libraries and defaults on Nest's Fastify adapter (BENCH_ADAPTER=fastify): the fairer peer.
import './usual-way.instrument';
import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { SentryGlobalFilter, SentryModule } from '@sentry/nestjs/setup';
import { InjectMetric, makeHistogramProvider, PrometheusModule } from '@willsoto/nestjs-prometheus';
import { LoggerModule } from 'nestjs-pino';
import type { Histogram } from 'prom-client';
import { tap, type Observable } from 'rxjs';

@Injectable()
class DurationInterceptor implements NestInterceptor {
  constructor(@InjectMetric('http_request_duration_seconds') private readonly histogram: Histogram<string>) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context
      .switchToHttp()
      .getRequest<{ method: string; route?: { path: string }; routeOptions?: { url?: string } }>();
    const end = this.histogram.startTimer({
      method: request.method,
      route: request.route?.path ?? request.routeOptions?.url ?? 'unknown',
    });
    return next.handle().pipe(tap(() => end({ status_code: '200' })));
  }
}

@Controller()
class InfoController {
  @Get()
  info(): Record<string, string> {
    return { service: 'terra_constellata', version: '1.0.0', environment: 'production' };
  }
}

@Module({
  imports: [SentryModule.forRoot(), LoggerModule.forRoot(), PrometheusModule.register()],
  controllers: [InfoController],
  providers: [
    makeHistogramProvider({
      name: 'http_request_duration_seconds',
      help: 'request duration',
      labelNames: ['method', 'route', 'status_code'],
    }),
    { provide: APP_INTERCEPTOR, useClass: DurationInterceptor },
    { provide: APP_FILTER, useClass: SentryGlobalFilter },
  ],
})
class UsualModule {}

const app =
  process.env.BENCH_ADAPTER === 'fastify'
    ? NestFactory.create(UsualModule, new FastifyAdapter(), { bufferLogs: true })
    : NestFactory.create(UsualModule, { bufferLogs: true });
void app.then((nest) => nest.listen(Number(process.env.PORT), '127.0.0.1'));
