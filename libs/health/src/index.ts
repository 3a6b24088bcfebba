export { HealthModule } from './health.module';
export { DatabaseHealth, type DatabaseCheck } from './database.health';
export { ShutdownState } from './shutdown.state';
export { DEGRADED_PERCENT } from './health.controller';
export { HealthReport, type HealthStatus } from './health.response';
export { SystemStats } from './system-stats.service';
