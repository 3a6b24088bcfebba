import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '@app/config';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** When METRICS_TOKEN is set, /metrics answers only `Authorization: Bearer <token>`; otherwise it is open. */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  // Digests have one length, so the comparison takes the same time whatever the client sent.
  private readonly expected: Buffer | null;

  constructor(config: AppConfig) {
    this.expected = config.metricsToken ? digest(config.metricsToken) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const http = context.switchToHttp();
    const header = http.getRequest<FastifyRequest>().headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (match && timingSafeEqual(digest(match[1]), this.expected)) return true;
    void http.getResponse<FastifyReply>().header('www-authenticate', 'Bearer realm="metrics"');
    throw new UnauthorizedException('A valid bearer token is required for /metrics');
  }
}
