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
    // Open: nothing to check, so nothing is read (two Authorization headers matter only when one is checked).
    if (this.tokens.isEmpty) return true;
    const http = context.switchToHttp();
    if (this.tokens.matches(singleAuthorization(http.getRequest<FastifyRequest>()))) return true;
    void http.getResponse<FastifyReply>().header('www-authenticate', 'Bearer realm="metrics"');
    throw new UnauthorizedException('A valid bearer token is required for /metrics');
  }
}
