import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { AppConfig } from '@app/config';
import { FailoverThrottlerStorage, RATE_LIMIT_STORAGE } from './failover.storage';
import { ReadRateLimitGuard, WriteRateLimitGuard } from './rate-limit.guards';

// The store RATE_LIMIT_STORE names: built once at start, so a request pays only for the store it uses.
const storage: Provider = {
  provide: RATE_LIMIT_STORAGE,
  inject: [AppConfig, { token: FailoverThrottlerStorage, optional: true }],
  useFactory: (config: AppConfig, redis?: FailoverThrottlerStorage) =>
    config.rateLimitStore === 'redis' && redis ? redis : new ThrottlerStorageService(),
};

/**
 * Per-client limits on the write and the read endpoints (@nestjs/throttler), counted in this process's memory
 * or, with RATE_LIMIT_STORE=redis, in Redis for every replica at once.
 */
@Module({
  providers: [storage, WriteRateLimitGuard, ReadRateLimitGuard],
  exports: [RATE_LIMIT_STORAGE, WriteRateLimitGuard, ReadRateLimitGuard],
})
export class RateLimitModule {
  /** The module for this configuration: the Redis client exists only with RATE_LIMIT_STORE=redis. */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: RateLimitModule,
      // The guards are used by the controllers of other modules, which resolve them in their own scope.
      global: true,
      providers: config.rateLimitStore === 'redis' ? [FailoverThrottlerStorage] : [],
    };
  }
}
