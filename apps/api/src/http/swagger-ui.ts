import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DOCS_CSP } from './security-headers';

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/**
 * Swagger UI at `path`, for the OpenAPI document at `${path}-json`. Served from swagger-ui-dist, read once at
 * start: @nestjs/swagger's own UI needs @fastify/static, whose dependencies no longer support Node 20. The page
 * runs no inline script, so the strict Content-Security-Policy holds.
 */
export function serveSwaggerUi(fastify: FastifyInstance, path: string, title: string): void {
  const dir = dirname(require.resolve('swagger-ui-dist/package.json'));
  const files = new Map(
    Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(join(dir, name)) }]),
  );
  files.set('initializer.js', {
    type: 'application/javascript; charset=utf-8',
    body: Buffer.from(
      `window.ui = SwaggerUIBundle({ url: ${JSON.stringify(`${path}-json`)}, dom_id: '#swagger-ui', ` +
        `presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });\n`,
    ),
  });
  const page = Buffer.from(
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
      `<link rel="stylesheet" href="${path}/swagger-ui.css"><link rel="icon" href="${path}/favicon-32x32.png"></head>` +
      `<body><div id="swagger-ui"></div><script src="${path}/swagger-ui-bundle.js"></script>` +
      `<script src="${path}/swagger-ui-standalone-preset.js"></script><script src="${path}/initializer.js"></script>` +
      `</body></html>`,
  );
  fastify.get(
    path,
    (_request, reply) =>
      void reply.type('text/html; charset=utf-8').header('content-security-policy', DOCS_CSP).send(page),
  );
  fastify.get<{ Params: { file: string } }>(`${path}/:file`, (request, reply) => {
    const file = files.get(request.params.file);
    if (!file)
      return void reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'no such file' });
    void reply.type(file.type).header('cache-control', 'public, max-age=86400').send(file.body);
  });
}
