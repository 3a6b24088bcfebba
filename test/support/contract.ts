import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

/**
 * The contract test: every response an e2e test app sends is checked against the OpenAPI document of the real
 * service (the operation of its route and method, and the documented status), its JSON body validated with ajv.
 * A status the operation does not document, or a body its schema refuses, is a violation; TestApp.stop() throws
 * them, so the test file fails. Routes that only test modules add (probes) are counted as skipped, and every
 * checked response is written down for the run's summary (test/support/global-teardown.ts).
 */

export interface Captured {
  method: string;
  route: string | undefined;
  path: string;
  status: number;
  contentType: string;
  body: string | undefined;
  requestId: string | undefined;
}

interface OpenApi {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema?: object }> }> }>
  >;
  components: { schemas: Record<string, object> };
}

/** Where this run's workers write what they checked; the global teardown sums it up. */
export const CONTRACT_DIR = join(tmpdir(), `tc-contract-${process.env.TC_CONTRACT_RUN ?? 'local'}`);

const SERVICE_TAGS = ['feedback', 'workflows', 'health', 'metrics', 'service'];

// Swagger UI and its files are not API operations.
const NOT_OPERATIONS = /^\/api\/docs/;

export class ContractChecker {
  private readonly ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(
    private readonly document: OpenApi,
    // The checker's own test checks made-up responses: those are not the suites' responses.
    private readonly options: { record: boolean } = { record: true },
  ) {
    this.ajv.addSchema({ components: document.components }, 'openapi.json');
    // Controllers that only a test module adds (probes) carry none of the service's tags: not its operations.
    for (const operations of Object.values(document.paths))
      for (const [method, operation] of Object.entries(operations))
        if (!(operation as { tags?: string[] }).tags?.some((tag) => SERVICE_TAGS.includes(tag)))
          delete operations[method];
  }

  /** The violations of one response; also records it for the summary. */
  check(response: Captured): string[] {
    const where = `${response.method} ${response.path} -> ${response.status}`;
    const problems: string[] = [];
    if (!response.requestId) problems.push(`${where}: no x-request-id header`);
    if (response.route && NOT_OPERATIONS.test(response.route))
      return this.record(response, 'skipped', problems);
    let operation: OpenApi['paths'][string][string] | undefined;
    let key: string;
    if (response.route === undefined) {
      // Matched no route (404, 405): the error body, which every operation documents.
      key = 'UNMATCHED';
    } else {
      const path = response.route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const method = response.method === 'HEAD' ? 'get' : response.method.toLowerCase();
      operation = this.document.paths[path]?.[method];
      // Not an operation of the service: a route only a test module adds, or a catch-all (CORS preflight).
      if (!operation) return this.record(response, 'skipped', problems);
      key = `${method} ${path}`;
    }
    const documented = operation?.responses[String(response.status)];
    if (operation && !documented) {
      problems.push(`${where}: status ${response.status} is not documented for ${key}`);
      return this.record(response, key, problems);
    }
    if (
      response.method === 'HEAD' ||
      response.status === 204 ||
      response.body === undefined ||
      response.body === ''
    )
      return this.record(response, key, problems);
    const schema = documented
      ? documented.content?.[response.contentType.split(';')[0].trim()]?.schema
      : { $ref: '#/components/schemas/ErrorResponse' };
    if (!schema) {
      const media = Object.keys(documented?.content ?? {}).join(', ') || 'no body';
      problems.push(`${where}: content-type ${response.contentType} is not documented (${media})`);
      return this.record(response, key, problems);
    }
    if (!response.contentType.startsWith('application/json')) return this.record(response, key, problems);
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      problems.push(`${where}: the body is not JSON`);
      return this.record(response, key, problems);
    }
    const validate = this.validator(schema);
    if (!validate(body)) {
      const errors = (validate.errors ?? [])
        .slice(0, 5)
        .map((e) => `${e.instancePath || '(body)'} ${e.message}`)
        .join('; ');
      problems.push(`${where}: the body does not match ${key} ${response.status}: ${errors}`);
    }
    return this.record(response, key, problems);
  }

  private validator(schema: object): ValidateFunction {
    const text = JSON.stringify(schema);
    let validate = this.validators.get(text);
    if (!validate) {
      // References point into the document's components.
      const rebased = JSON.parse(text.replace(/"#\/components\//g, '"openapi.json#/components/')) as object;
      validate = this.ajv.compile(rebased);
      this.validators.set(text, validate);
    }
    return validate;
  }

  private record(response: Captured, key: string, problems: string[]): string[] {
    if (!this.options.record) return problems;
    mkdirSync(CONTRACT_DIR, { recursive: true });
    appendFileSync(
      join(CONTRACT_DIR, `${process.pid}.jsonl`),
      `${JSON.stringify({ key, status: response.status, violations: problems.length })}\n`,
    );
    return problems;
  }
}

/** Captures every response of an app (before init): its route, status, content type and body. */
export function captureResponses(fastify: FastifyInstance, into: Captured[]): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    into.push({
      method: request.method,
      route: request.routeOptions.url,
      path: request.url.split('?', 1)[0],
      status: reply.statusCode,
      contentType: String(reply.getHeader('content-type') ?? ''),
      body:
        typeof payload === 'string'
          ? payload
          : Buffer.isBuffer(payload)
            ? payload.toString('utf8')
            : undefined,
      requestId: reply.getHeader('x-request-id') as string | undefined,
    });
    done(null, payload);
  });
}
