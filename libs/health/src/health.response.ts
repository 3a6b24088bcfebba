import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

const SOURCES = ['cgroup', 'host'];

class Limits {
  @ApiProperty({
    enum: SOURCES,
    example: 'cgroup',
    description: "cgroup: the container's cpu.max; host: the host's cores",
  })
  cpu_source!: 'cgroup' | 'host';

  @ApiProperty({ example: 0.5 })
  cpu_cores!: number;

  @ApiProperty({
    enum: SOURCES,
    example: 'cgroup',
    description: "cgroup: the container's memory.max; host: the host's memory",
  })
  memory_source!: 'cgroup' | 'host';

  @ApiProperty({ type: 'integer', example: 536870912 })
  memory_bytes!: number;
}

class SystemFigures {
  @ApiProperty({
    example: 12.5,
    description: "The service's CPU over the last minute, in percent of limits.cpu_cores",
  })
  cpu_percent!: number;

  @ApiProperty({ example: 41.2, description: 'Memory in use, in percent of limits.memory_bytes' })
  memory_percent!: number;

  @ApiProperty({
    example: 63.1,
    description: 'The fullest filesystem holding the data and log directories, in percent',
  })
  disk_usage!: number;

  @ApiProperty({ type: Limits })
  limits!: Limits;
}

class DatabaseCheck {
  @ApiProperty({ enum: ['up', 'down'] })
  status!: 'up' | 'down';

  @ApiProperty({ minimum: 0, example: 1.8 })
  latency_ms!: number;

  @ApiPropertyOptional({
    example: 'timeout',
    description: 'Why it is down (in production: unreachable or timeout)',
  })
  error?: string;
}

class UsageCheck {
  @ApiProperty({ enum: ['up', 'down'], description: 'down above 90 %' })
  status!: 'up' | 'down';

  @ApiProperty({ example: 41.2 })
  used_percent!: number;
}

class Checks {
  @ApiProperty({ type: DatabaseCheck })
  database!: DatabaseCheck;

  @ApiProperty({ type: UsageCheck })
  disk!: UsageCheck;

  @ApiProperty({ type: UsageCheck })
  memory!: UsageCheck;
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** The /health report for people and dashboards. */
export class HealthReport {
  @ApiProperty({
    enum: ['healthy', 'degraded', 'unhealthy'],
    description: 'degraded (200): disk or memory above 90 %; unhealthy (503): the database is down',
  })
  status!: HealthStatus;

  @ApiProperty({ format: 'date-time' })
  timestamp!: string;

  @ApiProperty({ example: '1.0.0' })
  version!: string;

  @ApiProperty({ example: 3600.5, description: 'Seconds since the process started' })
  uptime!: number;

  @ApiProperty({ type: SystemFigures })
  system!: SystemFigures;

  @ApiProperty({ type: Checks })
  checks!: Checks;
}
