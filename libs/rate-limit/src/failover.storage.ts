import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { Redis } from 'ioredis';
import type { Counter } from 'prom-client';
import { AppConfig } from '@app/config';
import { AppLogger } from '@app/logging';
import { InjectMetric, METRICS } from '@app/metrics';

/** Longest a counter update may wait for Redis before the request is counted in this replica's memory. */
export const REDIS_COMMAND_TIMEOUT_MS = 500;
/** Longest the start waits for Redis; the service starts either way. */
const REDIS_START_WAIT_MS = 2000;
/** Every rate-limit key starts with this (inside the storage's `{...}` hash tag), so the database can be shared. */
export const REDIS_KEY_PREFIX = 'terra_constellata:rate_limit:';

/**
 * The rate-limit counters in Redis (@nest-lab/throttler-storage-redis: one Lua script per request, INCR and
 * PEXPIRE in one step, so the replicas share one budget per client exactly), and, while Redis cannot be reached
 * or is too slow, in this process's memory: a request is never failed or held for the store. While it fails,
 * each replica enforces its own budget, as RATE_LIMIT_STORE=memory does. Every failed update is counted in
 * terra_constellata_rate_limit_store_errors_total; one warn line when updates start failing, one info line
 * when they work again. ioredis reconnects by itself; with its offline queue off a command fails at once while
 * the connection is down instead of waiting for it.
 */
@Injectable()
export class FailoverThrottlerStorage implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private readonly redis: Redis;
  private readonly shared: ThrottlerStorageRedisService;
  private readonly local = new ThrottlerStorageService();
  private failing = false;

  constructor(
    config: AppConfig,
    private readonly logger: AppLogger,
    @InjectMetric(METRICS.rateLimitStoreErrors) private readonly errors: Counter,
  ) {
    this.redis = new Redis(config.redisUrl ?? '', {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      connectTimeout: REDIS_START_WAIT_MS,
      // One try per command: a retry would hold the request; the next request tries again anyway.
      maxRetriesPerRequest: 0,
      // Reconnect forever, at most 2 s apart.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    });
    // ioredis reports every failed reconnect as an 'error' event, and prints it when nobody listens; the
    // failing/recovered lines below are the log of an outage.
    this.redis.on('error', () => undefined);
    this.shared = new ThrottlerStorageRedisService(this.redis);
  }

  async onModuleInit(): Promise<void> {
    // Nest calls this once per token the instance is provided under (the class and RATE_LIMIT_STORAGE).
    if (this.redis.status !== 'wait') return;
    const connected = this.redis.connect().then(
      () => true,
      () => false,
    );
    const timedOut = new Promise<false>((resolve) => setTimeout(resolve, REDIS_START_WAIT_MS, false).unref());
    if (!(await Promise.race([connected, timedOut])))
      this.markFailing(new Error(`not reachable within ${REDIS_START_WAIT_MS} ms at start`));
  }

  onApplicationShutdown(): void {
    this.redis.disconnect(false);
    this.local.onApplicationShutdown();
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      const record = await this.shared.increment(
        REDIS_KEY_PREFIX + key,
        ttl,
        limit,
        blockDuration,
        throttlerName,
      );
      if (this.failing) {
        this.failing = false;
        this.logger.info('Rate-limit store (Redis) answers again: one budget per client across replicas');
      }
      return record;
    } catch (error) {
      this.errors.inc();
      this.markFailing(error as Error);
      return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  private markFailing(error: Error): void {
    if (this.failing) return;
    this.failing = true;
    this.logger.warn(
      { err_message: error.message },
      'Rate-limit store (Redis) unavailable: limits are counted per replica until it answers again',
    );
  }
}

/** The storage for RATE_LIMIT_STORE: Redis (with the in-memory fallback) or this process's memory. */
export const RATE_LIMIT_STORAGE = Symbol('RATE_LIMIT_STORAGE');
export const InjectRateLimitStorage = () => Inject(RATE_LIMIT_STORAGE);
