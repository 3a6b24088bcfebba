export { RateLimitModule } from './rate-limit.module';
export { ReadRateLimitGuard, WriteRateLimitGuard } from './rate-limit.guards';
export { REDIS_KEY_PREFIX } from './failover.storage';
