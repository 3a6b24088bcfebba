import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerStorage, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import type { Counter } from 'prom-client';
import { routeOf } from '@app/common';
import { AppConfig } from '@app/config';
import { InjectMetric, METRICS } from '@app/metrics';
import { InjectRateLimitStorage } from './failover.storage';

type Kind = 'writes' | 'reads';

/**
 * @nestjs/throttler's guard with one budget per client address for a kind of request (all writes share one,
 * all reads another, whatever the route), the IETF `RateLimit-*` header names on every answer of a limited
 * route, 429 with `Retry-After` and the `RateLimit-*` headers too, and every refusal counted in
 * terra_constellata_rate_limited_total. Applied only to the routes of its kind, so probes, `/metrics` and the
 * static pages never pay for it.
 */
abstract class RateLimitGuard extends ThrottlerGuard {
  protected override headerPrefix = 'RateLimit';
  private readonly limit: number;

  constructor(
    private readonly kind: Kind,
    variable: string,
    limit: number,
    config: AppConfig,
    storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly limited: Counter<'route'>,
  ) {
    const seconds = config.rateLimitWindowMs / 1000;
    super(
      {
        // Named 'default' so the headers are plain RateLimit-Limit / -Remaining / -Reset, with no suffix.
        throttlers: [{ name: 'default', limit: limit || 1, ttl: config.rateLimitWindowMs }],
        errorMessage: `Too many ${kind} from this client: at most ${limit} per ${seconds} s (${variable}); retry after the time in Retry-After`,
      },
      storage,
      reflector,
    );
    this.limit = limit;
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.limit === 0) return true;
    return super.canActivate(context);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `${this.kind}:${name}:${tracker}`;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const http = context.switchToHttp();
    this.limited.inc({ route: routeOf(http.getRequest()) });
    // The parent sets only Retry-After on a refusal; a client reads its budget from the same headers as on
    // every other answer.
    void http
      .getResponse<FastifyReply>()
      .header('ratelimit-limit', detail.limit)
      .header('ratelimit-remaining', 0)
      .header('ratelimit-reset', detail.timeToBlockExpire);
    return super.throwThrottlingException(context, detail);
  }
}

/** RATE_LIMIT_WRITES per RATE_LIMIT_WINDOW_MS per client, across every write endpoint. */
@Injectable()
export class WriteRateLimitGuard extends RateLimitGuard {
  // Every parameter names its token: ThrottlerGuard's own @Inject metadata would otherwise be inherited.
  constructor(
    @Inject(AppConfig) config: AppConfig,
    @InjectRateLimitStorage() storage: ThrottlerStorage,
    @Inject(Reflector) reflector: Reflector,
    @InjectMetric(METRICS.rateLimited) limited: Counter<'route'>,
  ) {
    super('writes', 'RATE_LIMIT_WRITES', config.rateLimitWrites, config, storage, reflector, limited);
  }
}

/** RATE_LIMIT_READS per RATE_LIMIT_WINDOW_MS per client, across every read endpoint of the API. */
@Injectable()
export class ReadRateLimitGuard extends RateLimitGuard {
  // Every parameter names its token: ThrottlerGuard's own @Inject metadata would otherwise be inherited.
  constructor(
    @Inject(AppConfig) config: AppConfig,
    @InjectRateLimitStorage() storage: ThrottlerStorage,
    @Inject(Reflector) reflector: Reflector,
    @InjectMetric(METRICS.rateLimited) limited: Counter<'route'>,
  ) {
    super('reads', 'RATE_LIMIT_READS', config.rateLimitReads, config, storage, reflector, limited);
  }
}
