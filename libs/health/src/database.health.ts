import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '@app/config';
import { AppLogger } from '@app/logging';
import type { Gauge } from 'prom-client';
import { InjectMetric, MetricCollectors, METRICS } from '@app/metrics';

export interface DatabaseCheck {
  up: boolean;
  latencyMs: number;
  /** The driver's own words: for the log and for people at a development machine. */
  error?: string;
  /** What an unauthenticated probe may be told in production: no host, port or driver text. */
  publicError?: 'timeout' | 'unreachable';
  checkedAt: number;
}

class CheckTimeoutError extends Error {
  override readonly name = 'CheckTimeoutError';
}

/**
 * Pings the database with a timeout, shares one ping between concurrent probes, reuses a result for
 * HEALTH_CACHE_MS, and logs only when the state changes, so an outage is one line in errors.log, not one per probe.
 */
// Not Terminus's TypeOrmHealthIndicator.pingCheck: it runs the same `SELECT 1` with a timeout, but on failure
// it keeps only "timeout" or nothing and drops the driver's error, which the outage's one log line must carry.
@Injectable()
export class DatabaseHealth implements OnModuleInit {
  private last: DatabaseCheck | undefined;
  private inFlight: Promise<DatabaseCheck> | undefined;
  private wasUp: boolean | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
    private readonly collectors: MetricCollectors,
    @InjectMetric(METRICS.databaseUp) private readonly databaseUp: Gauge,
  ) {}

  onModuleInit(): void {
    // A scrape runs the (cached, time-bounded) check, so database_up is right even when nothing probes.
    this.collectors.register(METRICS.databaseUp, async () => void (await this.check()));
  }

  check(): Promise<DatabaseCheck> {
    if (this.last && Date.now() - this.last.checkedAt < this.config.healthCacheMs)
      return Promise.resolve(this.last);
    this.inFlight ??= this.ping().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async ping(): Promise<DatabaseCheck> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let result: DatabaseCheck;
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new CheckTimeoutError(`no answer within ${this.config.healthTimeoutMs} ms`)),
            this.config.healthTimeoutMs,
          );
        }),
      ]);
      result = { up: true, latencyMs: round(performance.now() - started), checkedAt: Date.now() };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result = {
        up: false,
        latencyMs: round(performance.now() - started),
        error: message,
        publicError: error instanceof CheckTimeoutError ? 'timeout' : 'unreachable',
        checkedAt: Date.now(),
      };
    } finally {
      clearTimeout(timer);
    }
    this.record(result);
    return result;
  }

  private record(result: DatabaseCheck): void {
    this.last = result;
    this.databaseUp.set(result.up ? 1 : 0);
    if (result.up === this.wasUp) return;
    if (!result.up) {
      this.logger.logError('DatabaseDown', `Database check failed: ${result.error}`, {
        latency_ms: result.latencyMs,
      });
    } else if (this.wasUp === false) {
      this.logger.warn({ latency_ms: result.latencyMs }, 'Database check passes again');
    }
    this.wasUp = result.up;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
