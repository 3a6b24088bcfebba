import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { createTestApp } from './support/app';
import { startBuiltApp } from './support/built-app';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'node_modules', '.bin');
// Inside the repository (dist/ is ignored), so the compiled client resolves openapi-fetch from node_modules.
const OUT = join(ROOT, 'dist', 'test-client');

async function liveDocument(): Promise<Record<string, unknown>> {
  const t = await createTestApp();
  try {
    return (await t.app.getHttpAdapter().getInstance().inject({ url: '/api/docs-json' })).json();
  } finally {
    await t.close();
  }
}

describe('the OpenAPI document', () => {
  let document: Record<string, unknown>;
  const file = join(OUT, 'openapi.json');

  beforeAll(async () => {
    document = await liveDocument();
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    writeFileSync(file, JSON.stringify(document, null, 2));
  });

  it('passes @redocly/cli lint with the recommended rules: no error, no warning', () => {
    const result = spawnSync(
      join(BIN, 'redocly'),
      ['lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'json'],
      {
        encoding: 'utf8',
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    );
    const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as {
      totals: { errors: number; warnings: number };
      problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }>;
    };
    const problems = report.problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(result.status).toBe(0);
  }, 60_000);

  it('documents every operation with a described body per status, lower-case tags, servers and security', () => {
    const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
    expect(Object.keys(paths).length).toBeGreaterThanOrEqual(17);
    expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
    for (const [path, operations] of Object.entries(paths))
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect({ where, summary: typeof operation.summary }).toEqual({ where, summary: 'string' });
        expect({ where, tags: operation.tags }).toEqual({ where, tags: [expect.stringMatching(/^[a-z]+$/)] });
        expect({ where, security: Array.isArray(operation.security) }).toEqual({ where, security: true });
        const responses = operation.responses as Record<
          string,
          { content?: Record<string, { schema?: unknown }> }
        >;
        for (const [status, response] of Object.entries(responses)) {
          // Every documented answer has a body schema (no `content?: never` in a generated client), but a 304,
          // which has no body by definition.
          const schema = Object.values(response.content ?? {})[0]?.schema;
          expect({ where, status, schema: schema !== undefined }).toEqual({
            where,
            status,
            schema: status !== '304',
          });
        }
      }
    // Token-protected operations say so.
    expect(paths['/metrics'].get.security).toEqual([{ bearer: [] }]);
    expect(paths['/api/feedback/recent'].get.security).toEqual([{ bearer: [] }]);
    const submit = paths['/api/feedback/submit'].post as {
      parameters: Array<{ name: string; in: string; schema: { pattern?: string } }>;
    };
    expect(submit.parameters.find((p) => p.name === 'Idempotency-Key')?.schema.pattern).toBe(
      '^[A-Za-z0-9._:-]{1,128}$',
    );
    expect(submit.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['x-request-id', 'x-user-id']),
    );
  });

  it('generates a client (openapi-typescript) that type-checks calls of every operation and runs them against the service', async () => {
    execFileSync(join(BIN, 'openapi-typescript'), [file, '-o', join(OUT, 'schema.d.ts')], { stdio: 'pipe' });
    copyFileSync(join(ROOT, 'test', 'client', 'terra-client.mts'), join(OUT, 'terra-client.mts'));
    const program = ts.createProgram([join(OUT, 'terra-client.mts')], {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      skipLibCheck: true,
      outDir: OUT,
    });
    const emitted = program.emit();
    const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map((d) =>
      ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    );
    expect(diagnostics).toEqual([]);

    const tokens = { metrics: 'client-metrics-token-0123456789', read: 'client-read-token-0123456789' };
    const app = await startBuiltApp({
      METRICS_TOKEN: tokens.metrics,
      FEEDBACK_READ_TOKENS: tokens.read,
      FEEDBACK_INSIGHTS_INTERVAL_MS: '1000',
    });
    try {
      const output = execFileSync(
        process.execPath,
        [join(OUT, 'terra-client.mjs'), app.url, tokens.metrics, tokens.read],
        {
          encoding: 'utf8',
        },
      );
      const result = JSON.parse(output) as {
        seen: Record<string, number>;
        stored: { rating: number; metadata: Record<string, unknown>; user_id: string };
        workflowFeedback: { count: number };
        metricsText: boolean;
        statsWorkflowCount: number;
        recentCount: number;
        totalFeedback: number;
        refused: { status: number; details: string[] };
      };
      const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
      );
      // Every operation of the document was called, and answered with its success status.
      expect(Object.keys(result.seen).sort()).toEqual(operations.sort());
      for (const [operation, status] of Object.entries(result.seen))
        expect({ operation, status }).toEqual({
          operation,
          status: operation.startsWith('POST /api/workflows/')
            ? 200
            : operation.startsWith('POST')
              ? 201
              : 200,
        });
      expect(result.stored).toMatchObject({
        rating: 5,
        user_id: 'user-456',
        metadata: { client: 'web', build: 42, beta: true, referrer: null },
      });
      expect(result.workflowFeedback.count).toBe(1);
      expect(result.metricsText).toBe(true);
      expect(result.statsWorkflowCount).toBe(1);
      expect(result.recentCount).toBe(3);
      expect(result.totalFeedback).toBe(3);
      expect(result.refused).toEqual({ status: 400, details: ['rating: rating must not be greater than 5'] });
    } finally {
      await app.stop();
    }
  }, 60_000);
});

describe('the OpenAPI document on rate limits', () => {
  it('documents a 429 with Retry-After and the three RateLimit headers on every write and API read, and none on probes or /metrics', async () => {
    const paths = (await liveDocument()).paths as Record<
      string,
      Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>
    >;
    const limited = [
      ['post', '/api/feedback/submit'],
      ['get', '/api/feedback/stats'],
      ['get', '/api/feedback/recent'],
      ['get', '/api/feedback/rankings'],
      ['get', '/api/feedback/insights'],
      ['get', '/api/workflows/{id}'],
      ['post', '/api/workflows'],
      ['post', '/api/artworks'],
    ];
    for (const [method, path] of limited) {
      const headers = Object.keys(paths[path][method].responses['429']?.headers ?? {}).sort();
      expect({ path, headers }).toEqual({
        path,
        headers: ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after', 'x-request-id'],
      });
      const success = Object.entries(paths[path][method].responses).find(([status]) =>
        status.startsWith('2'),
      )!;
      expect({ path, limit: Object.keys(success[1].headers ?? {}) }).toEqual({
        path,
        limit: expect.arrayContaining(['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']),
      });
    }
    for (const path of ['/health/live', '/health/ready', '/metrics', '/'])
      expect({ path, has429: '429' in paths[path].get.responses }).toEqual({ path, has429: false });
  });
});
