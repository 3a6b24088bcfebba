import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors, ApiRequestHeaders, ApiSuccess } from '@app/common';
import { AppConfig } from '@app/config';
import { HealthReport, type HealthStatus } from './health.response';
import { DatabaseHealth, type DatabaseCheck } from './database.health';
import { ShutdownState } from './shutdown.state';
import { SystemStats } from './system-stats.service';

/** Above this, disk or memory makes the service degraded (still 200). */
export const DEGRADED_PERCENT = 90;

@ApiTags('health')
@ApiRequestHeaders()
@ApiErrors(400, 500)
@Controller('health')
export class HealthController {
  constructor(
    private readonly config: AppConfig,
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly database: DatabaseHealth,
    private readonly system: SystemStats,
    private readonly shutdown: ShutdownState,
  ) {}

  /** The report for people and dashboards: 200 healthy or degraded, 503 unhealthy. */
  @Get()
  @ApiOperation({ summary: 'Health report: status, version, uptime, CPU, memory and disk, and the checks' })
  @ApiSuccess(200, 'healthy or degraded', { type: HealthReport })
  @ApiSuccess(503, 'unhealthy: the database is down', { type: HealthReport })
  async report(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const [database, disk] = await Promise.all([this.database.check(), this.system.diskUsagePercent()]);
    const resources = this.system.resources;
    const memory = resources.memoryPercent();
    const status: HealthStatus = !database.up
      ? 'unhealthy'
      : disk > DEGRADED_PERCENT || memory > DEGRADED_PERCENT
        ? 'degraded'
        : 'healthy';
    if (status === 'unhealthy') void reply.status(503);
    return {
      status,
      timestamp: new Date().toISOString(),
      version: this.config.releaseVersion,
      uptime: Math.round(process.uptime() * 10) / 10,
      system: {
        cpu_percent: resources.cpuPercent(),
        memory_percent: memory,
        disk_usage: disk,
        limits: {
          cpu_source: resources.cpuSource,
          cpu_cores: Math.round(resources.cpuLimitCores * 1000) / 1000,
          memory_source: resources.memorySource,
          memory_bytes: resources.memoryLimitBytes(),
        },
      },
      checks: {
        database: {
          status: database.up ? 'up' : 'down',
          latency_ms: database.latencyMs,
          ...(database.error ? { error: this.errorFor(database) } : {}),
        },
        disk: { status: disk > DEGRADED_PERCENT ? 'down' : 'up', used_percent: disk },
        memory: { status: memory > DEGRADED_PERCENT ? 'down' : 'up', used_percent: memory },
      },
    };
  }

  /** Kubernetes liveness: the process answers. Never looks at the database, so an outage restarts nothing. */
  @Get('live')
  @ApiOperation({ summary: 'Kubernetes liveness: the process answers (never looks at the database)' })
  @HealthCheck()
  live(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.answer(reply, []);
  }

  /** Kubernetes readiness: the database answers in time and shutdown has not begun; 503 otherwise. */
  @Get('ready')
  @ApiOperation({ summary: 'Kubernetes readiness: the database answers in time and shutdown has not begun' })
  @HealthCheck()
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.answer(reply, [
      () => {
        const session = this.indicator.check('shutdown');
        return this.shutdown.isShuttingDown ? session.down({ message: 'shutting down' }) : session.up();
      },
      async () => {
        const session = this.indicator.check('database');
        const result = await this.database.check();
        return result.up
          ? session.up({ latency_ms: result.latencyMs })
          : session.down({ latency_ms: result.latencyMs, message: this.errorFor(result) ?? 'down' });
      },
    ]);
  }

  // The probes answer anyone who reaches the port: in production they say what kind of failure it is, and the
  // driver's text (hosts, ports, users) goes to the log only.
  private errorFor(check: DatabaseCheck): string | undefined {
    return this.config.isProduction ? check.publicError : check.error;
  }

  // Terminus throws a 503 exception for "not ready"; that is an answer, not an error to log and report.
  private async answer(
    reply: FastifyReply,
    indicators: Parameters<HealthCheckService['check']>[0],
  ): Promise<HealthCheckResult> {
    try {
      return await this.health.check(indicators);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
