import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '@app/config';
import { WriteRateLimitGuard } from './write-rate-limit.guard';

/** Per-client limits on the write endpoints (@nestjs/throttler, in memory per replica). */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // Named 'default' so the headers are plain RateLimit-Limit / -Remaining / -Reset, with no suffix.
        throttlers: [{ name: 'default', limit: config.rateLimitWrites || 1, ttl: config.rateLimitWindowMs }],
        errorMessage: `Too many writes from this client: at most ${config.rateLimitWrites} per ${config.rateLimitWindowMs / 1000} s (RATE_LIMIT_WRITES); retry after the time in Retry-After`,
      }),
    }),
  ],
  providers: [WriteRateLimitGuard],
  exports: [ThrottlerModule, WriteRateLimitGuard],
})
export class RateLimitModule {}
