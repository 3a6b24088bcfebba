// A client of the service generated from its OpenAPI document: `./schema.js` is what openapi-typescript writes
// from the live /api/docs-json (test/openapi.spec.ts generates it, type-checks this file against it, then runs
// it against a running service). It calls every operation with the bodies a real client would send.
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

export async function callEveryOperation(baseUrl: string, tokens: { metrics: string; read: string }) {
  const api = createClient<paths>({ baseUrl });
  const seen: Record<string, number> = {};
  const note = <T extends { response: Response }>(name: string, result: T): T => {
    seen[name] = result.response.status;
    return result;
  };

  note('GET /', await api.GET('/'));
  note('GET /health', await api.GET('/health'));
  note('GET /health/live', await api.GET('/health/live'));
  note('GET /health/ready', await api.GET('/health/ready'));
  const metrics = note(
    'GET /metrics',
    await api.GET('/metrics', {
      headers: { authorization: `Bearer ${tokens.metrics}` },
      parseAs: 'text',
    }),
  );

  const submitted = note(
    'POST /api/feedback/submit',
    await api.POST('/api/feedback/submit', {
      params: { header: { 'Idempotency-Key': 'client-submit-1', 'x-user-id': 'user-456' } },
      body: {
        rating: 5,
        comment: 'The constellation map rendered quickly.',
        category: 'performance',
        tags: ['fast', 'map'],
        metadata: { client: 'web', build: 42, beta: true, referrer: null },
      },
    }),
  );
  // @ts-expect-error rating is required: the generated types know the body.
  await api.POST('/api/feedback/submit', { body: { comment: 'no rating' } }).catch(() => undefined);

  const workflow = note(
    'POST /api/workflows',
    await api.POST('/api/workflows', {
      body: {
        type: 'artwork_generation',
        input: { prompt: 'Orion over the sea', seed: 7, palette: ['navy'] },
      },
    }),
  );
  const workflowId = workflow.data!.id;
  const style = workflow.data!.recommended_style?.style ?? 'celestial';
  const artwork = note(
    'POST /api/artworks',
    await api.POST('/api/artworks', { body: { workflow_id: workflowId, style } }),
  );
  note(
    'POST /api/feedback/workflow/{workflowId}',
    await api.POST('/api/feedback/workflow/{workflowId}', {
      params: { path: { workflowId } },
      body: { rating: 4, user_id: 'user-789' },
    }),
  );
  note(
    'POST /api/feedback/artwork/{artworkId}',
    await api.POST('/api/feedback/artwork/{artworkId}', {
      params: { path: { artworkId: artwork.data!.id } },
      body: { rating: 5, tags: ['beautiful'] },
    }),
  );
  const read = note(
    'GET /api/workflows/{id}',
    await api.GET('/api/workflows/{id}', { params: { path: { id: workflowId } } }),
  );
  note(
    'POST /api/workflows/{id}/complete',
    await api.POST('/api/workflows/{id}/complete', { params: { path: { id: workflowId } } }),
  );
  const other = await api.POST('/api/workflows', { body: { type: 'map_rendering' } });
  note(
    'POST /api/workflows/{id}/fail',
    await api.POST('/api/workflows/{id}/fail', {
      params: { path: { id: other.data!.id } },
      body: { error: 'renderer ran out of memory' },
    }),
  );
  const stats = note(
    'GET /api/feedback/stats',
    await api.GET('/api/feedback/stats', { params: { query: { target_type: 'workflow' } } }),
  );
  const recent = note(
    'GET /api/feedback/recent',
    await api.GET('/api/feedback/recent', {
      params: { query: { limit: 10 } },
      headers: { authorization: `Bearer ${tokens.read}` },
    }),
  );
  note('GET /api/feedback/rankings', await api.GET('/api/feedback/rankings'));
  // Insights are recomputed every FEEDBACK_INSIGHTS_INTERVAL_MS: poll (bounded) until they count the three.
  let insights = note('GET /api/feedback/insights', await api.GET('/api/feedback/insights'));
  for (let i = 0; i < 100 && insights.data!.total_feedback < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    insights = note('GET /api/feedback/insights', await api.GET('/api/feedback/insights'));
  }
  const refused = await api.POST('/api/feedback/submit', { body: { rating: 9 } });

  return {
    seen,
    stored: submitted.data!,
    replayed: submitted.response.headers.get('idempotent-replayed'),
    workflowFeedback: read.data!.feedback,
    metricsText:
      typeof metrics.data === 'string' && metrics.data.includes('terra_constellata_requests_total'),
    statsWorkflowCount: stats.data!.by_target_type.workflow.count,
    recentCount: recent.data!.items.length,
    totalFeedback: insights.data!.total_feedback,
    refused: { status: refused.response.status, details: refused.error?.details },
  };
}

const [, , baseUrl, metricsToken, readToken] = process.argv;
if (baseUrl) {
  const result = await callEveryOperation(baseUrl, { metrics: metricsToken, read: readToken });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
