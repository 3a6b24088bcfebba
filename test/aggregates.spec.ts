import fc from 'fast-check';
import { DataSource } from 'typeorm';
import {
  FeedbackAggregatesRepository,
  FeedbackEntity,
  FeedbackService,
  FeedbackWriter,
  sentimentOf,
  type FeedbackTargetType,
} from '@app/feedback';
import { createTestApp, type TestApp } from './support/app';
import { ENGINES } from './support/engines';
import { clearFeedback, feedbackRow, rebuildFromRows } from './support/feedback-row';
import { rawStatistics, rawTargets, rollupContents } from './support/raw-statistics';

const HOUR = 3_600_000;
const NOW = Date.now();

interface Submission {
  target: [FeedbackTargetType, string | null];
  rating: number;
  category: FeedbackEntity['category'];
  rater: string | null;
  key: string | null;
  hoursAgo: number;
}

const submission: fc.Arbitrary<Submission> = fc.record({
  target: fc.oneof(
    fc.constant<[FeedbackTargetType, string | null]>(['general', null]),
    fc.integer({ min: 0, max: 3 }).map((i): [FeedbackTargetType, string] => ['workflow', `wf-${i}`]),
    fc.integer({ min: 0, max: 3 }).map((i): [FeedbackTargetType, string] => ['artwork', `art-${i}`]),
  ),
  // 0 and 6 break the table's CHECK: the database rejects the row, and only it.
  rating: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 5 }) }, fc.constantFrom(0, 6)),
  category: fc.constantFrom('quality', 'performance', 'usability', 'bug', 'feature_request', 'other'),
  rater: fc.option(fc.constantFrom('user:a', 'user:b', 'user:c', 'client:x')),
  // One in four carries one of a few keys, so some replay an earlier submission.
  key: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, fc.constantFrom('k1', 'k2', 'k3')),
  // Ten days back, off every hour and day boundary, and a little in the future.
  hoursAgo: fc.double({ min: -2, max: 240, noNaN: true }),
});

const query = fc.record(
  {
    target_type: fc.constantFrom<FeedbackTargetType>('general', 'workflow', 'artwork'),
    since: fc.double({ min: 0, max: 260, noNaN: true }).map((h) => new Date(NOW - h * HOUR).toISOString()),
  },
  { requiredKeys: [] },
);

for (const engine of ENGINES)
  engine.describe(`roll-ups answer what GROUP BY over the rows answers (${engine.name})`, () => {
    let replicas: TestApp[];
    let cleanup: () => Promise<void>;
    let keySeq = 0;

    beforeAll(async () => {
      const setup = await engine.setup();
      cleanup = setup.cleanup;
      // PostgreSQL: two replicas writing into one database at once; SQLite has one process by design.
      const count = engine.name === 'PostgreSQL' ? 2 : 1;
      replicas = [];
      for (let i = 0; i < count; i++) replicas.push(await createTestApp(setup.env));
    });

    afterAll(async () => {
      for (const r of replicas) await r.close();
      await cleanup();
    });

    const dataSource = () => replicas[0].app.get(DataSource);

    const write = async (batch: Submission[]) => {
      // Keys are unique per run, so replays happen within a run only.
      const run = ++keySeq;
      const outcomes = await Promise.allSettled(
        batch.map((s, i) => {
          const row = feedbackRow({
            targetType: s.target[0],
            targetId: s.target[1],
            rating: s.rating,
            category: s.category,
            sentiment: sentimentOf(Math.min(5, Math.max(1, s.rating)), null),
            rater: s.rater,
            idempotencyKey: s.key ? `run${run}-${s.key}` : null,
            createdAt: new Date(NOW - s.hoursAgo * HOUR),
          });
          return replicas[i % replicas.length].app.get(FeedbackWriter).write(row);
        }),
      );
      return outcomes;
    };

    it('for random submissions (rejected, replayed, concurrent) and random filters, byte for byte', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(submission, { minLength: 10, maxLength: 80 }), { minLength: 1, maxLength: 3 }),
          fc.array(query, { minLength: 1, maxLength: 4 }),
          async (waves, queries) => {
            await clearFeedback(dataSource());
            for (const wave of waves) {
              const outcomes = await write(wave);
              // A row the database refuses fails alone; every other one is answered.
              outcomes.forEach((o, i) =>
                expect(o.status).toBe(wave[i].rating >= 1 && wave[i].rating <= 5 ? 'fulfilled' : 'rejected'),
              );
            }
            const now = new Date();
            for (const q of [{}, ...queries]) {
              const expected = await rawStatistics(dataSource(), q, now);
              for (const r of replicas) {
                const actual = await r.app.get(FeedbackService).stats(q, now);
                expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
              }
            }
            const aggregates = replicas[0].app.get(FeedbackAggregatesRepository);
            for (const t of await rawTargets(dataSource())) {
              expect(await aggregates.target(t.type as 'workflow' | 'artwork', t.id)).toEqual(t);
            }
            // What the writers kept is what a recount from the rows gives.
            const kept = await rollupContents(dataSource());
            await rebuildFromRows(replicas[0].app);
            expect(await rollupContents(dataSource())).toEqual(kept);
          },
        ),
        { numRuns: 30 },
      );
    });

    it('counts rows written by SQL past the service once the roll-ups are rebuilt, and rows deleted no more', async () => {
      await clearFeedback(dataSource());
      const repo = dataSource().getRepository(FeedbackEntity);
      const rows = Array.from({ length: 300 }, (_, i) =>
        feedbackRow({
          targetType: (['general', 'workflow', 'artwork'] as const)[i % 3],
          targetId: i % 3 === 0 ? null : `t-${i % 7}`,
          rating: (i % 5) + 1,
          rater: `user:${i % 11}`,
          createdAt: new Date(NOW - i * 1.7 * HOUR),
        }),
      );
      await repo.insert(rows);
      const service = replicas[0].app.get(FeedbackService);
      const now = new Date();
      expect((await service.stats({}, now)).total).toBe(0);
      await rebuildFromRows(replicas[0].app);
      expect(JSON.stringify(await service.stats({}, now))).toBe(
        JSON.stringify(await rawStatistics(dataSource(), {}, now)),
      );
      // A deletion on request: the rebuild forgets the rows, their days and their targets.
      await dataSource().query(`DELETE FROM feedback WHERE target_id = 't-3' OR rating = 5`);
      await rebuildFromRows(replicas[0].app);
      const since = new Date(NOW - 100 * HOUR).toISOString();
      for (const q of [{}, { since }, { target_type: 'artwork' as const, since }]) {
        expect(JSON.stringify(await service.stats(q, now))).toBe(
          JSON.stringify(await rawStatistics(dataSource(), q, now)),
        );
      }
      expect(await replicas[0].app.get(FeedbackAggregatesRepository).target('workflow', 't-3')).toBeNull();
    });
  });
