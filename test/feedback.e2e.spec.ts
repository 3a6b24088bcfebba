import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  FeedbackAggregatesRepository,
  FeedbackEntity,
  FeedbackInsightEntity,
  FeedbackService,
  LearningLoopService,
  sentimentOf,
  type FeedbackInsights,
} from '@app/feedback';
import { clearFeedback, feedbackRow, rebuildFromRows } from './support/feedback-row';
import { createTestApp, type TestApp } from './support/app';
import { ENGINES } from './support/engines';
import { parseExposition, valueOf, valueOrZero } from './support/exposition';

const DAY = 86_400_000;

for (const engine of ENGINES) {
  engine.describe(`feedback API on ${engine.name}`, () => {
    let t: TestApp;
    let server: Parameters<typeof request>[0];
    let cleanup: () => Promise<void>;
    let url: string;

    const count = () => t.app.get(DataSource).getRepository(FeedbackEntity).count();
    const submit = (path: string, body: unknown) =>
      request(server)
        .post(`/api/feedback/${path}`)
        .send(body as object);

    beforeAll(async () => {
      const setup = await engine.setup();
      cleanup = setup.cleanup;
      t = await createTestApp({
        ...setup.env,
        FEEDBACK_FLAG_MIN_RATINGS: '3',
        FEEDBACK_FLAG_THRESHOLD: '2.5',
      });
      server = t.app.getHttpServer();
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    });

    afterAll(async () => {
      await t.close();
      await cleanup();
    });

    beforeEach(async () => {
      await clearFeedback(t.app.get(DataSource));
    });

    it('stores general feedback and answers 201 with the record', async () => {
      const res = await submit('submit', {
        rating: 5,
        comment: 'Lovely, smooth constellation maps',
        category: 'quality',
        tags: ['maps', 'speed'],
        metadata: { client: 'web', build: 42, beta: true, note: null },
      })
        .set('x-user-id', 'user-456')
        .expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        target_type: 'general',
        target_id: null,
        rating: 5,
        comment: 'Lovely, smooth constellation maps',
        category: 'quality',
        tags: ['maps', 'speed'],
        user_id: 'user-456',
        metadata: { client: 'web', build: 42, beta: true, note: null },
        sentiment: 'positive',
        created_at: expect.any(String),
      });
      const stored = await t.app
        .get(DataSource)
        .getRepository(FeedbackEntity)
        .findOneByOrFail({ id: res.body.id });
      expect(stored).toMatchObject({
        userId: 'user-456',
        rating: 5,
        tags: ['maps', 'speed'],
        requestId: res.headers['x-request-id'],
      });
    });

    it('ties feedback to a workflow or an artwork, with defaults for what is left out', async () => {
      const workflow = await submit('workflow/wf-123', { rating: 2, user_id: 'body-user' })
        .set('x-user-id', 'header-user')
        .expect(201);
      expect(workflow.body).toMatchObject({
        target_type: 'workflow',
        target_id: 'wf-123',
        category: 'other',
        tags: [],
        user_id: 'body-user',
        comment: null,
        metadata: null,
        sentiment: 'negative',
      });
      const artwork = await submit('artwork/art:7.v2', { rating: 3 }).expect(201);
      expect(artwork.body).toMatchObject({
        target_type: 'artwork',
        target_id: 'art:7.v2',
        user_id: null,
        sentiment: 'neutral',
      });
    });

    it.each([
      [{ rating: 6 }, 'rating: rating must not be greater than 5'],
      [{ rating: 0 }, 'rating: rating must not be less than 1'],
      [{ rating: '5' }, 'rating: rating must be an integer number'],
      [{ rating: 4.5 }, 'rating: rating must be an integer number'],
      [{}, 'rating: rating must be an integer number'],
      [
        { rating: 3, comment: 'x'.repeat(5001) },
        'comment: comment must be shorter than or equal to 5000 characters',
      ],
      [{ rating: 3, category: 'praise' }, 'category: category must be one of the following values'],
      [
        { rating: 3, tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
        'tags: tags must contain no more than 10 elements',
      ],
      [
        { rating: 3, tags: ['x'.repeat(51)] },
        'tags: each value in tags must be shorter than or equal to 50 characters',
      ],
      [{ rating: 3, tags: 'fast' }, 'tags: tags must be an array'],
      [{ rating: 3, user_id: 'has spaces' }, 'user_id: user_id must be 1-128 characters'],
      [{ rating: 3, metadata: { nested: { deep: true } } }, 'metadata: metadata must be a flat object'],
      [{ rating: 3, metadata: ['a'] }, 'metadata: metadata must be a flat object'],
      [{ rating: 3, metadata: { big: 'x'.repeat(4100) } }, 'metadata: metadata must be a flat object'],
      [{ rating: 3, mood: 'happy' }, 'mood: property mood should not exist'],
    ])('rejects invalid body #%# with a 400 naming the field, storing nothing', async (body, expected) => {
      const res = await submit('submit', body).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(res.body.details.join('\n')).toContain(expected);
      expect(await count()).toBe(0);
    });

    it.each([
      ['workflow/has%20space', 'workflowId: workflowId must be 1-128 characters'],
      [`workflow/${'w'.repeat(129)}`, 'workflowId: workflowId must be 1-128 characters'],
      [`workflow/${'w'.repeat(300)}`, 'workflowId: workflowId must be 1-128 characters'],
      [`workflow/${'w'.repeat(129)}`, 'workflowId: workflowId must be 1-128 characters'],
      ['artwork/%3Cscript%3E', 'artworkId: artworkId must be 1-128 characters'],
    ])('rejects invalid target id #%#', async (path, expected) => {
      const res = await submit(path, { rating: 3 }).expect(400);
      expect(res.body.details.join('\n')).toContain(expected);
      expect(await count()).toBe(0);
    });

    it('answers 415 for a body that is not JSON, and stores nothing', async () => {
      await request(server)
        .post('/api/feedback/submit')
        .set('content-type', 'text/plain')
        .send('rating=5')
        .expect(415);
      await request(server)
        .post('/api/feedback/submit')
        .set('content-type', 'application/x-www-form-urlencoded')
        .send('rating=5')
        .expect(415);
      expect(await count()).toBe(0);
    });

    it('returns the original record for a retried Idempotency-Key, storing it once', async () => {
      const first = await submit('submit', { rating: 4 }).set('idempotency-key', 'retry-1').expect(201);
      const again = await submit('submit', { rating: 4 }).set('idempotency-key', 'retry-1').expect(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const burst = await Promise.all(
        Array.from({ length: 20 }, () =>
          submit('submit', { rating: 1 }).set('idempotency-key', 'burst-key').expect(201),
        ),
      );
      expect(new Set(burst.map((res) => res.body.id)).size).toBe(1);
      expect(await count()).toBe(2);
      await submit('submit', { rating: 4 }).set('idempotency-key', 'has space').expect(400);
      expect(await count()).toBe(2);
    });

    it('accepts a 128-character target id', async () => {
      const id = 'w'.repeat(128);
      const res = await submit(`workflow/${id}`, { rating: 3 }).expect(201);
      expect(res.body.target_id).toBe(id);
    });

    it('stores 1,000 concurrent submissions exactly once each', async () => {
      const ids: string[] = [];
      let next = 0;
      // 100 at a time over real HTTP on loopback, 1,000 in all.
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          while (next < 1000) {
            const i = next++;
            const res = await fetch(`${url}/api/feedback/workflow/wf-${i % 10}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ rating: (i % 5) + 1, tags: [`n${i}`] }),
            });
            expect(res.status).toBe(201);
            ids.push(((await res.json()) as { id: string }).id);
          }
        }),
      );
      expect(new Set(ids).size).toBe(1000);
      const stored = await t.app
        .get(DataSource)
        .getRepository(FeedbackEntity)
        .find({ select: { id: true, tags: true } });
      expect(stored.map((row) => row.id).sort()).toEqual([...ids].sort());
      expect(new Set(stored.map((row) => row.tags[0])).size).toBe(1000);
    });

    it('lists recent feedback newest first, page by page, with filters', async () => {
      const repo = t.app.get(DataSource).getRepository(FeedbackEntity);
      const now = Date.now();
      const rows = Array.from({ length: 25 }, (_, i) =>
        feedbackRow({
          targetType: i % 2 ? 'workflow' : 'artwork',
          targetId: i % 2 ? 'wf-1' : `art-${i % 4}`,
          // Pairs share a millisecond, so the id has to break ties.
          createdAt: new Date(now - Math.floor(i / 2) * 1000),
        }),
      );
      await repo.insert(rows);
      const expected = [...rows]
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
        .map((r) => r.id);

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: request.Response = await request(server)
          .get('/api/feedback/recent')
          .query({ limit: 10, ...(cursor ? { cursor } : {}) })
          .expect(200);
        seen.push(...res.body.items.map((item: { id: string }) => item.id));
        cursor = res.body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(expected);

      const first = await request(server).get('/api/feedback/recent').expect(200);
      expect(first.body.items).toHaveLength(20);
      const filtered = await request(server)
        .get('/api/feedback/recent')
        .query({ target_type: 'workflow', target_id: 'wf-1' })
        .expect(200);
      expect(filtered.body.items).toHaveLength(12);
      expect(filtered.body.items.every((i: { target_id: string }) => i.target_id === 'wf-1')).toBe(true);

      for (const query of [
        { limit: 101 },
        { limit: 0 },
        { limit: 'ten' },
        { cursor: 'not-a-cursor' },
        { target_type: 'planet' },
      ]) {
        const res = await request(server).get('/api/feedback/recent').query(query).expect(400);
        expect(res.body.details.join('\n')).toMatch(new RegExp(`^${Object.keys(query)[0]}: `, 'm'));
      }
    });

    it('computes stats that match the data, with filters', async () => {
      const repo = t.app.get(DataSource).getRepository(FeedbackEntity);
      const now = Date.now();
      const data = Array.from({ length: 60 }, (_, i) => {
        const rating = ((i * 7) % 5) + 1;
        const comment = i % 3 === 0 ? 'slow and broken' : i % 3 === 1 ? 'smooth and lovely' : null;
        return feedbackRow({
          targetType: (['general', 'workflow', 'artwork'] as const)[i % 3],
          targetId: i % 3 === 0 ? null : `t-${i % 4}`,
          rating,
          comment,
          category: (['quality', 'performance', 'bug', 'other'] as const)[i % 4],
          sentiment: sentimentOf(rating, comment),
          // Spread over the last ten days, four hours apart, off the 24-hour and 3-day boundaries.
          createdAt: new Date(now - i * 4 * 3600_000 - 1800_000),
        });
      });
      // Written by SQL, past the service: counted once the roll-ups are rebuilt from the rows.
      await repo.insert(data);
      await rebuildFromRows(t.app);

      const round = (n: number) => Math.round(n * 100) / 100;
      const mean = (rows: FeedbackEntity[]) =>
        rows.length ? round(rows.reduce((s, r) => s + r.rating, 0) / rows.length) : null;
      const res = await request(server).get('/api/feedback/stats').expect(200);
      expect(res.body.total).toBe(60);
      expect(res.body.average_rating).toBe(mean(data));
      for (const type of ['general', 'workflow', 'artwork']) {
        const rows = data.filter((r) => r.targetType === type);
        expect(res.body.by_target_type[type]).toEqual({ count: rows.length, average_rating: mean(rows) });
      }
      for (const category of ['quality', 'performance', 'usability', 'bug', 'feature_request', 'other']) {
        expect(res.body.by_category[category]).toBe(data.filter((r) => r.category === category).length);
      }
      for (const rating of [1, 2, 3, 4, 5]) {
        expect(res.body.rating_distribution[String(rating)]).toBe(
          data.filter((r) => r.rating === rating).length,
        );
      }
      for (const sentiment of ['positive', 'neutral', 'negative']) {
        expect(res.body.sentiment[sentiment]).toBe(data.filter((r) => r.sentiment === sentiment).length);
      }
      const lastDay = data.filter((r) => r.createdAt.getTime() >= now - DAY);
      expect(res.body.last_24h).toEqual({ count: lastDay.length, average_rating: mean(lastDay) });
      expect(res.body.daily_average_rating).toHaveLength(7);
      for (const day of res.body.daily_average_rating as Array<{
        date: string;
        count: number;
        average_rating: number | null;
      }>) {
        const rows = data.filter((r) => r.createdAt.toISOString().slice(0, 10) === day.date);
        expect(day).toEqual({ date: day.date, count: rows.length, average_rating: mean(rows) });
      }
      expect(res.body.daily_average_rating[6].date).toBe(new Date(now).toISOString().slice(0, 10));

      const since = new Date(now - 3 * DAY).toISOString();
      const filtered = await request(server)
        .get('/api/feedback/stats')
        .query({ target_type: 'artwork', since })
        .expect(200);
      const expectedRows = data.filter(
        (r) => r.targetType === 'artwork' && r.createdAt.getTime() >= now - 3 * DAY,
      );
      expect(filtered.body.total).toBe(expectedRows.length);
      expect(filtered.body.average_rating).toBe(mean(expectedRows));
      expect(filtered.body.filters).toEqual({ target_type: 'artwork', since });

      await request(server).get('/api/feedback/stats').query({ since: 'yesterday' }).expect(400);
    });

    it('gives aggregates an ETag and Cache-Control, answers 304 while they are unchanged, and shares concurrent reads', async () => {
      await submit('submit', { rating: 4 }).expect(201);
      const first = await request(server).get('/api/feedback/stats').expect(200);
      const etag = first.headers.etag as string;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
      expect(first.headers['cache-control']).toBe('private, max-age=5');
      const again = await request(server).get('/api/feedback/stats').set('if-none-match', etag).expect(304);
      expect(again.text).toBe('');
      expect(again.headers.etag).toBe(etag);
      await request(server).get('/api/feedback/stats').set('if-none-match', `W/${etag}, "other"`).expect(304);
      // Another filter, another answer.
      await request(server)
        .get('/api/feedback/stats')
        .query({ target_type: 'artwork' })
        .set('if-none-match', etag)
        .expect(200);
      await submit('submit', { rating: 2 }).expect(201);
      const changed = await request(server).get('/api/feedback/stats').set('if-none-match', etag).expect(200);
      expect(changed.headers.etag).not.toBe(etag);
      for (const path of ['/api/feedback/insights', '/api/feedback/rankings']) {
        const res = await request(server).get(path).expect(200);
        await request(server)
          .get(path)
          .set('if-none-match', res.headers.etag as string)
          .expect(304);
      }
      // Individual feedback is no aggregate: no ETag.
      expect((await request(server).get('/api/feedback/recent').expect(200)).headers.etag).toBeUndefined();

      // Fifty identical requests at once: one computation of the statistics.
      const aggregates = t.app.get(FeedbackAggregatesRepository);
      const cells = jest.spyOn(aggregates, 'cells');
      try {
        const answers = await Promise.all(
          Array.from({ length: 50 }, () => t.app.get(FeedbackService).stats({ target_type: 'general' })),
        );
        expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
        expect(cells).toHaveBeenCalledTimes(3);
      } finally {
        cells.mockRestore();
      }
    });

    it('learns: insights, flagged targets, negative words and tags, trends, gauges and events', async () => {
      const repo = t.app.get(DataSource).getRepository(FeedbackEntity);
      const now = Date.now();
      let raterSeq = 0;
      const row = (
        targetType: 'workflow' | 'artwork' | 'general',
        targetId: string | null,
        rating: number,
        daysAgo: number,
        extra: Partial<FeedbackEntity> = {},
      ) =>
        Object.assign(new FeedbackEntity(), {
          id: randomUUID(),
          targetType,
          targetId,
          rating,
          comment: null,
          category: 'other',
          tags: [],
          metadata: null,
          sentiment: sentimentOf(rating, (extra.comment as string | undefined) ?? null),
          userId: null,
          requestId: null,
          idempotencyKey: null,
          requestFingerprint: null,
          // Every stored rating here comes from a different user.
          rater: `user:rater-${(raterSeq += 1)}`,
          createdAt: new Date(now - daysAgo * DAY),
          ...extra,
        });
      await repo.insert([
        // wf-bad: average 1.67 over 3 ratings: flagged. wf-few: 1.0 over 2 ratings: too few to flag.
        row('workflow', 'wf-bad', 1, 1, {
          comment: 'Render crashed, slow export',
          tags: ['export', 'render'],
        }),
        row('workflow', 'wf-bad', 2, 2, { comment: 'slow slow render', tags: ['render'] }),
        row('workflow', 'wf-bad', 2, 3, { tags: ['render'] }),
        row('workflow', 'wf-few', 1, 1, { comment: 'broken' }),
        row('workflow', 'wf-few', 1, 2),
        row('workflow', 'wf-good', 5, 1),
        row('workflow', 'wf-good', 4, 9),
        // Artworks: 2.0 a week ago, 4.33 now: improving.
        row('artwork', 'art-1', 2, 8),
        row('artwork', 'art-1', 2, 9),
        row('artwork', 'art-1', 2, 10),
        row('artwork', 'art-1', 4, 1),
        row('artwork', 'art-1', 4, 2),
        row('artwork', 'art-1', 5, 3),
        row('general', null, 3, 1),
      ]);
      await rebuildFromRows(t.app);
      const loop = t.app.get(LearningLoopService);
      const computed = await loop.recompute('request');
      const res = await request(server).get('/api/feedback/insights').expect(200);
      const insights = res.body as FeedbackInsights;
      expect(insights.total_feedback).toBe(14);
      expect(insights.trigger).toBe('request');
      expect(insights.average_rating_by_target_type).toEqual({ general: 3, workflow: 2.29, artwork: 3.17 });
      expect(insights.flagged_targets.map((f) => f.target_id)).toEqual(['wf-bad']);
      expect(insights.flagged_targets[0]).toEqual({
        target_type: 'workflow',
        target_id: 'wf-bad',
        count: 3,
        raters: 3,
        average_rating: 1.67,
        flagged: true,
      });
      expect(insights.targets.map((x) => x.target_id)).toEqual(['wf-few', 'wf-bad', 'art-1', 'wf-good']);
      expect(insights.negative_feedback.count).toBe(8);
      expect(insights.negative_feedback.top_tags[0]).toEqual({ value: 'render', count: 3 });
      expect(insights.negative_feedback.top_words.slice(0, 2)).toEqual([
        { value: 'slow', count: 3 },
        { value: 'render', count: 2 },
      ]);
      expect(insights.trends.artwork).toMatchObject({
        direction: 'improving',
        recent_count: 3,
        previous_count: 3,
        recent_average: 4.33,
        previous_average: 2,
      });
      expect(insights.trends.workflow.direction).toBe('insufficient_data');
      expect(computed.total_feedback).toBe(14);

      const stored = await t.app
        .get(DataSource)
        .getRepository(FeedbackInsightEntity)
        .find({ order: { computedAt: 'DESC' }, take: 1 });
      expect(stored[0].payload.flagged_targets.map((f) => f.target_id)).toEqual(['wf-bad']);

      // One more low rating flags wf-few at the next recompute (so that every replica answers the same); the
      // workflow's own summary counts it at once.
      await submit('workflow/wf-few', { rating: 1 }).expect(201);
      const before = (await request(server).get('/api/feedback/insights').expect(200))
        .body as FeedbackInsights;
      expect(before.total_feedback).toBe(14);
      await loop.recompute('request');
      const after = (await request(server).get('/api/feedback/insights').expect(200))
        .body as FeedbackInsights;
      expect(after.flagged_targets.map((f) => f.target_id).sort()).toEqual(['wf-bad', 'wf-few']);
      expect(after.total_feedback).toBe(15);

      const metrics = parseExposition((await request(server).get('/metrics').expect(200)).text);
      expect(
        valueOf(metrics, 'terra_constellata_feedback_flagged_targets', { target_type: 'workflow' }),
      ).toBe(2);
      expect(valueOf(metrics, 'terra_constellata_feedback_flagged_targets', { target_type: 'artwork' })).toBe(
        0,
      );
      expect(valueOf(metrics, 'terra_constellata_feedback_rating_average', { target_type: 'workflow' })).toBe(
        2.13,
      );

      await sleep(400);
      const events = readFileSync(join(t.config.logDir, 'terra_constellata.log'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('"feedback_insight_generated"'))
        .map((line) => JSON.parse(line));
      expect(events.find((e) => e.total_feedback === 14)).toMatchObject({
        level: 'BUSINESS',
        event: 'feedback_insight_generated',
        trigger: 'request',
        total_feedback: 14,
        flagged_targets: 1,
      });
    });

    it('counts each stored submission in feedback_received_total and logs feedback_received', async () => {
      const read = async () => parseExposition((await request(server).get('/metrics').expect(200)).text);
      const before = await read();
      await submit('artwork/art-9', { rating: 4, category: 'usability' })
        .set('x-request-id', 'fb-metric-1')
        .expect(201);
      await submit('artwork/art-9', { rating: 4, category: 'usability' })
        .set('idempotency-key', 'once')
        .expect(201);
      await submit('artwork/art-9', { rating: 4, category: 'usability' })
        .set('idempotency-key', 'once')
        .expect(201);
      await submit('submit', { rating: 9 }).expect(400);
      const after = await read();
      const labels = { target_type: 'artwork', category: 'usability' };
      expect(
        valueOf(after, 'terra_constellata_feedback_received_total', labels) -
          valueOrZero(before, 'terra_constellata_feedback_received_total', labels),
      ).toBe(2);
      await sleep(400);
      const line = readFileSync(join(t.config.logDir, 'terra_constellata.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .find((l) => l.event === 'feedback_received' && l.request_id === 'fb-metric-1');
      expect(line).toMatchObject({
        level: 'BUSINESS',
        msg: 'feedback_received',
        target_type: 'artwork',
        target_id: 'art-9',
        rating: 4,
      });
    });

    it('documents the API at /api/docs', async () => {
      const spec = await request(server).get('/api/docs-json').expect(200);
      expect(Object.keys(spec.body.paths)).toEqual(
        expect.arrayContaining([
          '/api/feedback/submit',
          '/api/feedback/workflow/{workflowId}',
          '/api/feedback/artwork/{artworkId}',
          '/api/feedback/stats',
          '/api/feedback/recent',
          '/api/feedback/insights',
          '/api/workflows',
        ]),
      );
      const page = await request(server).get('/api/docs').expect(200);
      expect(page.text).toContain('<div id="swagger-ui">');
      // The page runs no inline script, so its Content-Security-Policy can forbid them.
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.text).not.toMatch(/<script>(?!<\/script>)/);
      const scripts = [...page.text.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
      expect(scripts.length).toBeGreaterThanOrEqual(2);
      for (const src of scripts) {
        const url = new URL(src, 'http://localhost/api/docs/').pathname;
        const script = await request(server).get(url).expect(200);
        expect(script.headers['content-type']).toMatch(/javascript/);
      }
      const init = await request(server).get('/api/docs/swagger-ui-init.js').expect(200);
      expect(init.text).toContain('/api/feedback/submit');
      const traversal = await request(server).get('/api/docs/../../etc/passwd');
      expect([403, 404]).toContain(traversal.status);
      expect(traversal.text).not.toContain('root:');
    });
  });
}
