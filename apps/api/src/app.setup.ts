import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppConfig } from '@app/config';
import { NestPinoLogger, requestIdFor } from '@app/logging';
import { securityHeaders } from './http/security-headers';
import { serveSwaggerUi } from './http/swagger-ui';

/** Options for NestFactory.create / createNestApplication, shared by main() and the tests. */
export const APP_OPTIONS = {
  abortOnError: false,
  // Nest's start-up lines wait for the pino logger instead of going to the console in Nest's own format,
  // and a failed start prints main()'s one line rather than Nest's stack dump.
  bufferLogs: true,
  // Fastify's own JSON parser is kept; Nest's would add a urlencoded one, and this API answers anything but
  // JSON with 415.
  bodyParser: false,
} as const;

/** The Fastify adapter with the body limit and request ids of this service. */
export function createFastifyAdapter(config: AppConfig): FastifyAdapter {
  return new FastifyAdapter({
    // Nest mounts @fastify/middie by default and runs it on every request (~3 % of a small request's CPU
    // here), although this service has no Nest middleware: its request work lives in Fastify hooks. A module
    // that adds middleware makes the start fail loudly, since `use` is then missing.
    skipMiddie: true,
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    // Ids in paths may be 128 characters and a longer one deserves a 400 naming the field; Fastify's default
    // of 100 would answer 414 to valid ones.
    routerOptions: { maxParamLength: 2048 },
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
  const fastify = app.getHttpAdapter().getInstance();
  const headers = securityHeaders();
  fastify.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
  // The API speaks JSON: any other body (text/plain included, which Fastify parses by default) is a 415.
  fastify.removeContentTypeParser('text/plain');
  const document = new DocumentBuilder()
    .setTitle('Terra Constellata observability backend')
    .setDescription('Feedback collection and the learning loop, workflows and artworks, health, metrics.')
    .setVersion(app.get(AppConfig).releaseVersion)
    .build();
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, document), {
    swaggerUiEnabled: false,
  });
  serveSwaggerUi(fastify, '/api/docs', 'Terra Constellata API');
  app.enableShutdownHooks();
}
