import request from 'supertest';
import { LearningLoopService } from '@app/feedback';
import { createTestApp, type TestApp } from './support/app';
import { ENGINES } from './support/engines';
import { parseExposition, valueOf } from './support/exposition';

// All requests come from one address: only users a gateway vouches for are distinct raters.
const GATEWAY_SECRET = 'learning-loop-gateway-secret-0123456789';

for (const engine of ENGINES)
  engine.describe(
    `the learning loop closes: rankings, recommended style, flagged targets (${engine.name})`,
    () => {
      let t: TestApp;
      let server: Parameters<typeof request>[0];
      let cleanup: () => Promise<void>;

      beforeAll(async () => {
        const setup = await engine.setup();
        cleanup = setup.cleanup;
        t = await createTestApp({
          ...setup.env,
          FEEDBACK_FLAG_MIN_RATINGS: '3',
          FEEDBACK_FLAG_THRESHOLD: '2.5',
          USER_ID_GATEWAY_SECRET: GATEWAY_SECRET,
        });
        server = t.app.getHttpServer();
      });

      afterAll(async () => {
        await t.close();
        await cleanup();
      });

      const startGeneration = async () =>
        (
          await request(server)
            .post('/api/workflows')
            .send({ type: 'artwork_generation', input: { prompt: 'Orion over the sea' } })
            .expect(201)
        ).body as {
          id: string;
          recommended_style: {
            style: string | null;
            reason: string | null;
            score: number | null;
            count: number;
            enough_data: boolean;
          };
        };
      const artwork = async (style: string) =>
        ((await request(server).post('/api/artworks').send({ style }).expect(201)).body as { id: string }).id;
      // Each rating from its own user, vouched for as a gateway would: a flag needs distinct raters.
      let user = 0;
      const rate = (artworkId: string, rating: number) =>
        request(server)
          .post(`/api/feedback/artwork/${artworkId}`)
          .set('x-user-id', `user-${++user}`)
          .set('x-gateway-secret', GATEWAY_SECRET)
          .send({ rating })
          .expect(201);
      const recompute = () => t.app.get(LearningLoopService).recompute('request');

      it('explores unrated styles, never recommends a flagged one while another is available, then exploits the best', async () => {
        const catalog = ['abstract', 'celestial', 'cartographic', 'impressionist', 'photographic'];
        // Nothing rated yet: every style is unrated, so any is a try.
        const first = (await startGeneration()).recommended_style;
        expect(catalog).toContain(first.style);
        expect(first).toMatchObject({ reason: 'exploring', score: 3, count: 0, enough_data: false });

        // Four styles disliked by six distinct users each: flagged.
        const disliked = catalog.slice(0, 4);
        for (const style of disliked) {
          const id = await artwork(style);
          for (let i = 0; i < 6; i++) await rate(id, 1);
        }
        await recompute();
        const rankings = (await request(server).get('/api/feedback/rankings').expect(200)).body as {
          artwork_styles: { entries: Array<{ key: string; flagged: boolean }> };
        };
        expect(rankings.artwork_styles.entries.map((e) => [e.key, e.flagged]).sort()).toEqual(
          disliked.map((style) => [style, true]).sort(),
        );
        // The one unrated alternative, 50 times out of 50, and no flagged style ever.
        for (let i = 0; i < 50; i++)
          expect((await startGeneration()).recommended_style).toEqual({
            style: 'photographic',
            reason: 'exploring',
            score: 3,
            count: 0,
            enough_data: false,
          });

        // Users love it: now it is the best, with enough data behind it.
        const loved = await artwork('photographic');
        for (let i = 0; i < 6; i++) await rate(loved, 5);
        await recompute();
        for (let i = 0; i < 10; i++)
          expect((await startGeneration()).recommended_style).toMatchObject({
            style: 'photographic',
            reason: 'best',
            count: 6,
            enough_data: true,
          });

        const metrics = parseExposition((await request(server).get('/metrics').expect(200)).text);
        expect(
          valueOf(metrics, 'terra_constellata_recommendations_total', {
            style: 'photographic',
            reason: 'exploring',
          }),
        ).toBeGreaterThanOrEqual(50);
        expect(
          valueOf(metrics, 'terra_constellata_recommendations_total', {
            style: 'photographic',
            reason: 'best',
          }),
        ).toBe(10);
        for (const style of disliked)
          for (const reason of ['best', 'only_option'])
            expect(valueOf(metrics, 'terra_constellata_recommendations_total', { style, reason })).toBe(0);
        expect(
          valueOf(metrics, 'terra_constellata_artwork_style_rating_average', { style: 'celestial' }),
        ).toBe(1);
        expect(
          valueOf(metrics, 'terra_constellata_artwork_style_rating_average', { style: 'photographic' }),
        ).toBe(5);
        // The disliked artworks are flagged targets, by type.
        expect(
          valueOf(metrics, 'terra_constellata_feedback_flagged_targets', { target_type: 'artwork' }),
        ).toBe(4);
        expect(
          valueOf(metrics, 'terra_constellata_feedback_flagged_targets', { target_type: 'workflow' }),
        ).toBe(0);
      });

      it("shows a workflow's feedback summary on GET /api/workflows/{id}", async () => {
        const { id } = await startGeneration();
        const fresh = (await request(server).get(`/api/workflows/${id}`).expect(200)).body;
        expect(fresh.feedback).toEqual({ count: 0, average_rating: null, flagged: false });
        for (const rating of [2, 1, 2])
          await request(server)
            .post(`/api/feedback/workflow/${id}`)
            .set('x-user-id', `wf-user-${rating}-${++user}`)
            .set('x-gateway-secret', GATEWAY_SECRET)
            .send({ rating })
            .expect(201);
        const rated = (await request(server).get(`/api/workflows/${id}`).expect(200)).body;
        expect(rated.feedback).toEqual({ count: 3, average_rating: 1.67, flagged: true });
        type WorkflowRanking = { workflow_types: { entries: Array<{ key: string; count: number }> } };
        const before = (await request(server).get('/api/feedback/rankings').expect(200))
          .body as WorkflowRanking;
        // Workflow types are ranked at the next recompute, not before.
        expect(before.workflow_types.entries).toEqual([]);
        await recompute();
        const refreshed = (await request(server).get('/api/feedback/rankings').expect(200))
          .body as WorkflowRanking;
        expect(refreshed.workflow_types.entries).toEqual([
          expect.objectContaining({ key: 'artwork_generation', count: 3, enough_data: true }),
        ]);
      });
    },
  );
