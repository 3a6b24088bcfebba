import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BearerTokens, singleAuthorization } from '@app/common';
import { AppConfig } from '@app/config';

/** When METRICS_TOKEN is set, /metrics answers only `Authorization: Bearer <token>`; otherwise it is open. */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly tokens: BearerTokens;

  constructor(config: AppConfig) {
    this.tokens = new BearerTokens(config.metricsToken ? [config.metricsToken] : []);
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    // Read first: two Authorization headers are a 400 whether or not a token is configured.
    const authorization = singleAuthorization(http.getRequest<FastifyRequest>());
    if (this.tokens.isEmpty) return true;
    if (this.tokens.matches(authorization)) return true;
    void http.getResponse<FastifyReply>().header('www-authenticate', 'Bearer realm="metrics"');
    throw new UnauthorizedException('A valid bearer token is required for /metrics');
  }
}
