export { HealthModule } from './health.module';
export { DatabaseHealth, type DatabaseCheck } from './database.health';
export { ShutdownState } from './shutdown.state';
export { DEGRADED_PERCENT, type HealthReport, type HealthStatus } from './health.controller';
export { SystemStats } from './system-stats.service';
