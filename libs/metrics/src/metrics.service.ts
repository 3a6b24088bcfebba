import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { AppConfig } from '@app/config';
import { METRIC_PREFIX, REQUEST_DURATION_BUCKETS } from './metrics.constants';
import { RequestMetrics } from './request-metrics';

/**
 * Owns this app's Prometheus registry and its HTTP and system metrics. Nothing is registered on prom-client's
 * global registry, so two apps (or two test modules) in one process never collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly requests: RequestMetrics;
  private readonly databaseUp: Gauge;
  private readonly cpu: Gauge;
  private databaseProbe: (() => Promise<boolean>) | undefined;
  private lastCpu = process.cpuUsage();
  private lastCpuAt = process.hrtime.bigint();

  constructor(
    config: AppConfig,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });

    // error_type is set on error responses only, like errors_total's, so that the documented example
    // `rate(errors_total[5m]) / rate(requests_total[5m])` matches series one to one.
    this.requests = new RequestMetrics({
      requests: {
        name: `${METRIC_PREFIX}requests_total`,
        help: 'HTTP requests answered, by method, route template and status code (and error_type for errors).',
      },
      duration: {
        name: `${METRIC_PREFIX}request_duration_seconds`,
        help: 'Time from receiving a request to finishing its response, in seconds.',
        buckets: REQUEST_DURATION_BUCKETS,
      },
      errors: {
        name: `${METRIC_PREFIX}errors_total`,
        help: 'Responses with status >= 400, by route, status and the exception class behind them.',
      },
    });

    const memory = process.memoryUsage;
    new Gauge({
      name: `${METRIC_PREFIX}memory_usage_bytes`,
      help: 'Memory used by the process, by type (rss, heap_used, heap_total, external).',
      labelNames: ['type'],
      registers,
      collect() {
        const usage = memory();
        this.set({ type: 'rss' }, usage.rss);
        this.set({ type: 'heap_used' }, usage.heapUsed);
        this.set({ type: 'heap_total' }, usage.heapTotal);
        this.set({ type: 'external' }, usage.external);
      },
    });
    this.cpu = new Gauge({
      name: `${METRIC_PREFIX}cpu_usage_percent`,
      help: 'CPU used by the process since the previous scrape, in percent of one core.',
      registers,
      collect: () => this.sampleCpu(),
    });
    const server = () => this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    new Gauge({
      name: `${METRIC_PREFIX}active_connections`,
      help: 'Open HTTP connections.',
      registers,
      async collect() {
        const http = server();
        const open = await new Promise<number>((resolve) =>
          http ? http.getConnections((error, count) => resolve(error ? 0 : count)) : resolve(0),
        );
        this.set(open);
      },
    });
    const probe = () => this.databaseProbe;
    this.databaseUp = new Gauge({
      name: `${METRIC_PREFIX}database_up`,
      help: '1 when the last database check passed, 0 otherwise.',
      registers,
      // A scrape runs the (cached, time-bounded) check itself, so the gauge is right even when nothing probes.
      async collect() {
        const check = probe();
        if (check) this.set((await check()) ? 1 : 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}build_info`,
      help: 'Always 1; its labels say which version runs in which environment.',
      labelNames: ['version', 'environment'],
      registers,
    }).set({ version: config.releaseVersion, environment: config.environment }, 1);
  }

  /** Records one finished HTTP request; called once per response from Fastify's onResponse hook. */
  recordRequest(
    method: string,
    route: string,
    statusCode: number,
    seconds: number,
    errorType: string | null,
  ): void {
    this.requests.record(method, route, statusCode, seconds, errorType);
  }

  /** Follows the last database check (set by the health checks). */
  setDatabaseUp(up: boolean): void {
    this.databaseUp.set(up ? 1 : 0);
  }

  /** The check a scrape runs for database_up; registered by the module that owns the database check. */
  setDatabaseProbe(probe: () => Promise<boolean>): void {
    this.databaseProbe = probe;
  }

  /** The exposition in the text format Prometheus asks for, as pieces to send one after another. */
  async scrape(): Promise<{ contentType: string; chunks: string[] }> {
    // The request families first: they render in slices, the rest is small.
    const requests = await this.requests.renderSlices();
    return { contentType: this.registry.contentType, chunks: [...requests, await this.registry.metrics()] };
  }

  private sampleCpu(): void {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const elapsedMicros = Number(now - this.lastCpuAt) / 1000;
    const usedMicros = cpu.user - this.lastCpu.user + (cpu.system - this.lastCpu.system);
    this.lastCpu = cpu;
    this.lastCpuAt = now;
    if (elapsedMicros > 0) this.cpu.set(Math.round((usedMicros / elapsedMicros) * 10000) / 100);
  }
}
