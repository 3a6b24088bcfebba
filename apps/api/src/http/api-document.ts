import { DocumentBuilder, type OpenAPIObject } from '@nestjs/swagger';

/** The OpenAPI document's header: what the API is, where it is served, its tags and its one security scheme. */
export function apiDocument(version: string) {
  return new DocumentBuilder()
    .setTitle('Terra Constellata observability backend')
    .setDescription(
      'Collects user feedback and turns it into insights that the platform acts on (rankings, the style recommended ' +
        'to the artwork generator, flagged workflows and artworks), records workflows and artworks, and reports its ' +
        'own health and metrics. Every response carries `x-request-id`; every error has the body `ErrorResponse`.',
    )
    .setVersion(version)
    .setLicense('UNLICENSED', 'https://github.com/terra-constellata/terra-constellata-observability')
    .addServer('/', 'This server')
    .addTag('feedback', 'User feedback, its statistics and the learning loop built on it')
    .addTag('workflows', 'Workflows and the artworks they generate')
    .addTag('health', 'The health report and the Kubernetes probes')
    .addTag('metrics', 'Prometheus metrics')
    .addTag('service', 'What is running')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description: 'METRICS_TOKEN for /metrics; one of FEEDBACK_READ_TOKENS for /api/feedback/recent',
    })
    .build();
}

/** Operations that name no security scheme are public: say so (`security: []`) rather than leave it unsaid. */
export function finishDocument(document: OpenAPIObject): OpenAPIObject {
  for (const path of Object.values(document.paths))
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const) {
      const operation = path[method];
      if (operation && !operation.security) operation.security = [];
    }
  return document;
}
