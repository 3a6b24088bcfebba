import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DatabaseHealth } from './database.health';
import { HealthController } from './health.controller';
import { ShutdownState } from './shutdown.state';
import { SystemStats } from './system-stats.service';

/** GET /health (the report for people), /health/live and /health/ready (Kubernetes probes). */
@Module({
  // Terminus would log every failed probe with its details; DatabaseHealth logs state changes instead.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [DatabaseHealth, SystemStats, ShutdownState],
  exports: [DatabaseHealth, ShutdownState],
})
export class HealthModule {}
