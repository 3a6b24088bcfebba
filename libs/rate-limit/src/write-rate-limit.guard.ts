import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  getOptionsToken,
  getStorageToken,
  ThrottlerGuard,
  ThrottlerStorage,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
} from '@nestjs/throttler';
import { Inject } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { routeOf } from '@app/common';
import { AppConfig } from '@app/config';
import { InjectMetric, METRICS } from '@app/metrics';

/**
 * @nestjs/throttler's guard for the write endpoints: one budget per client address across all of them
 * (RATE_LIMIT_WRITES per RATE_LIMIT_WINDOW_MS), the IETF `RateLimit-*` header names, 429 with `Retry-After`, and
 * every refusal counted in terra_constellata_rate_limited_total. Applied only where writes happen, so reads,
 * probes and /metrics never pay for it.
 */
@Injectable()
export class WriteRateLimitGuard extends ThrottlerGuard {
  protected override headerPrefix = 'RateLimit';

  constructor(
    @Inject(getOptionsToken()) options: ThrottlerModuleOptions,
    @Inject(getStorageToken()) storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly config: AppConfig,
    @InjectMetric(METRICS.rateLimited) private readonly limited: Counter<'route'>,
  ) {
    super(options, storage, reflector);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.config.rateLimitWrites === 0) return true;
    return super.canActivate(context);
  }

  // One budget for all writes of a client, not one per endpoint: flooding is the same whatever the route.
  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `writes:${name}:${tracker}`;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    this.limited.inc({ route: routeOf(context.switchToHttp().getRequest()) });
    return super.throwThrottlingException(context, detail);
  }
}
