import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '@app/config';
import { NestPinoLogger, requestIdFor } from '@app/logging';
import { securityHeaders } from './http/security-headers';

/** The Fastify adapter with the body limit and request ids of this service. */
export function createFastifyAdapter(config: AppConfig): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: requestIdFor,
    // Fastify's own per-request logger would be a second log line for every request; @app/logging writes one.
    logger: false,
    return503OnClosing: false,
  });
}

/** Everything main.ts and the e2e tests both apply to a created application, before init or listen. */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  app.useLogger(app.get(NestPinoLogger));
  app.flushLogs();
  const headers = securityHeaders();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (_request, reply, done) => {
      void reply.headers(headers);
      done();
    });
  app.enableShutdownHooks();
}
