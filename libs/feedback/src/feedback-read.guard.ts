import {
  ForbiddenException,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BearerTokens, singleAuthorization } from '@app/common';
import { AppConfig } from '@app/config';

/**
 * Individual feedback (comments, user ids, metadata) is read only with `Authorization: Bearer <token>` for one
 * of FEEDBACK_READ_TOKENS. With none configured, development answers as before and production refuses (403)
 * with the variable to set: an unset variable must not publish every user's comments.
 */
@Injectable()
export class FeedbackReadGuard implements CanActivate {
  private readonly tokens: BearerTokens;

  constructor(private readonly config: AppConfig) {
    this.tokens = new BearerTokens(config.feedbackReadTokens);
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const authorization = singleAuthorization(http.getRequest<FastifyRequest>());
    if (this.tokens.isEmpty) {
      if (!this.config.isProduction) return true;
      throw new ForbiddenException(
        'Reading individual feedback is off: set FEEDBACK_READ_TOKENS to the bearer tokens allowed to read it',
      );
    }
    if (this.tokens.matches(authorization)) return true;
    void http.getResponse<FastifyReply>().header('www-authenticate', 'Bearer realm="feedback"');
    throw new UnauthorizedException(
      'A valid bearer token (FEEDBACK_READ_TOKENS) is required to read feedback',
    );
  }
}
