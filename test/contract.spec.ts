import { createTestApp } from './support/app';
import { ContractChecker, type Captured } from './support/contract';

describe('the contract checker', () => {
  it('accepts a documented response and names each kind of violation', async () => {
    const t = await createTestApp();
    try {
      const document = (await t.app.getHttpAdapter().getInstance().inject({ url: '/api/docs-json' })).json();
      const checker = new ContractChecker(document, { record: false });
      const base: Captured = {
        method: 'GET',
        route: '/api/feedback/rankings',
        path: '/api/feedback/rankings',
        status: 200,
        contentType: 'application/json; charset=utf-8',
        body: JSON.stringify({
          computed_at: '2026-11-30T08:00:00.000Z',
          artwork_styles: { prior_mean: null, prior_weight: 10, entries: [] },
          workflow_types: { prior_mean: null, prior_weight: 10, entries: [] },
        }),
        requestId: 'r-1',
      };
      expect(checker.check(base)).toEqual([]);
      expect(checker.check({ ...base, status: 418 })).toEqual([
        'GET /api/feedback/rankings -> 418: status 418 is not documented for get /api/feedback/rankings',
      ]);
      expect(checker.check({ ...base, body: JSON.stringify({ computed_at: 1 }) })[0]).toMatch(
        /the body does not match get \/api\/feedback\/rankings 200: .*\/computed_at must be string/,
      );
      expect(checker.check({ ...base, requestId: undefined })).toEqual([
        'GET /api/feedback/rankings -> 200: no x-request-id header',
      ]);
      expect(checker.check({ ...base, contentType: 'text/html' })[0]).toMatch(
        /content-type text\/html is not documented/,
      );
      // A request that matched no route answers with the error body.
      const unmatched = { ...base, route: undefined, path: '/nope', status: 404 };
      expect(checker.check({ ...unmatched, body: '{"statusCode":404}' })[0]).toMatch(
        /must have required property/,
      );
      expect(
        checker.check({
          ...unmatched,
          body: JSON.stringify({
            statusCode: 404,
            error: 'Not Found',
            message: 'Cannot GET /nope',
            request_id: 'r-1',
          }),
        }),
      ).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
