export { RateLimitModule } from './rate-limit.module';
export { WriteRateLimitGuard } from './write-rate-limit.guard';
