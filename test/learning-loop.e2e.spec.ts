import request from 'supertest';
import { LearningLoopService } from '@app/feedback';
import { createTestApp, type TestApp } from './support/app';
import { ENGINES } from './support/engines';
import { parseExposition, valueOf } from './support/exposition';

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
            score: number | null;
            count: number;
            enough_data: boolean;
          };
        };
      const artwork = async (style: string) =>
        ((await request(server).post('/api/artworks').send({ style }).expect(201)).body as { id: string }).id;
      // Each rating from its own user: a flag needs distinct raters.
      let user = 0;
      const rate = (artworkId: string, rating: number) =>
        request(server)
          .post(`/api/feedback/artwork/${artworkId}`)
          .set('x-user-id', `user-${++user}`)
          .send({ rating })
          .expect(201);
      const recompute = () => t.app.get(LearningLoopService).recompute('request');

      it('recommends the best-rated style, then drops a style that collects bad ratings and stops recommending it', async () => {
        // Nothing rated yet: no recommendation, said plainly.
        expect((await startGeneration()).recommended_style).toEqual({
          style: null,
          score: null,
          count: 0,
          enough_data: false,
        });

        const celestial = await artwork('celestial');
        const abstract = await artwork('abstract');
        const photographic = await artwork('photographic');
        for (const rating of [5, 5, 4, 5, 5, 4, 5, 5]) await rate(celestial, rating);
        for (const rating of [4, 4, 4, 4, 4, 4]) await rate(abstract, rating);
        // Two perfect ratings are not enough to beat eight excellent ones.
        for (const rating of [5, 5]) await rate(photographic, rating);
        await recompute();

        const rankings = (await request(server).get('/api/feedback/rankings').expect(200)).body as {
          artwork_styles: {
            prior_mean: number;
            entries: Array<{ key: string; score: number; count: number; enough_data: boolean }>;
          };
        };
        expect(rankings.artwork_styles.entries.map((e) => e.key)).toEqual([
          'celestial',
          'photographic',
          'abstract',
        ]);
        expect(rankings.artwork_styles.entries[1]).toMatchObject({
          key: 'photographic',
          count: 2,
          enough_data: false,
        });
        expect((await startGeneration()).recommended_style).toEqual({
          style: 'celestial',
          score: rankings.artwork_styles.entries[0].score,
          count: 8,
          enough_data: true,
        });

        // Celestial artworks start to disappoint: twenty 1-star ratings.
        const newer = await artwork('celestial');
        for (let i = 0; i < 20; i++) await rate(newer, 1);
        await recompute();
        const after = (await request(server).get('/api/feedback/rankings').expect(200))
          .body as typeof rankings;
        // The prior mean fell with them, so six 4-star ratings now outrank two 5-star ones.
        expect(after.artwork_styles.entries.map((e) => e.key)).toEqual([
          'abstract',
          'photographic',
          'celestial',
        ]);
        const recommended = (await startGeneration()).recommended_style!;
        expect(recommended).toMatchObject({ style: 'abstract', count: 6, enough_data: true });

        // The badly rated artwork is flagged, by type, at once.
        const metrics = parseExposition((await request(server).get('/metrics').expect(200)).text);
        expect(
          valueOf(metrics, 'terra_constellata_feedback_flagged_targets', { target_type: 'artwork' }),
        ).toBe(1);
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
