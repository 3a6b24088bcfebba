import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { parseConfig } from '@app/config';
import { buildDataSourceOptions, MIGRATIONS, runMigrations } from '@app/database';
import { FeedbackAggregatesService, FeedbackService, FeedbackWriter } from '@app/feedback';
import { fillStatement } from '../bench/fill';
import { createTestApp, type TestApp } from './support/app';
import { ENGINES } from './support/engines';
import { feedbackRow, rebuildFromRows } from './support/feedback-row';
import { rawStatistics, rollupContents } from './support/raw-statistics';

const STORED = 30_000;

// A database of the version before the roll-ups, holding feedback, upgraded by replicas that start together
// and keep accepting submissions while one of them back-fills.
for (const engine of ENGINES)
  engine.describe(`upgrading a database that holds feedback (${engine.name})`, () => {
    let env: Record<string, string>;
    let cleanup: () => Promise<void>;
    const replicas: TestApp[] = [];

    beforeAll(async () => {
      const setup = await engine.setup();
      const dir = mkdtempSync(join(tmpdir(), 'tc-backfill-'));
      env = { SQLITE_PATH: join(dir, 'db.sqlite'), ...setup.env };
      cleanup = async () => {
        await setup.cleanup();
        rmSync(dir, { recursive: true, force: true });
      };
      const config = parseConfig(env);
      const before = await new DataSource({
        ...buildDataSourceOptions(config.database),
        migrations: MIGRATIONS.slice(0, -1),
      }).initialize();
      try {
        await runMigrations(before);
        await before.query(fillStatement(engine.name === 'PostgreSQL', 1, STORED, Date.now()));
      } finally {
        await before.destroy();
      }
    }, 60_000);

    afterAll(async () => {
      for (const r of replicas) await r.close();
      await cleanup();
    });

    it('back-fills once, answers 503 with the progress meanwhile, and counts every submission accepted during it once', async () => {
      // PostgreSQL: two replicas start at once; one migrates and back-fills, the other waits on the locks.
      const count = engine.name === 'PostgreSQL' ? 2 : 1;
      replicas.push(...(await Promise.all(Array.from({ length: count }, () => createTestApp(env)))));
      const readiness = replicas.map((r) => r.app.get(FeedbackAggregatesService));
      // Submissions go on during the back-fill, on every replica.
      const writes = Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          replicas[i % count].app
            .get(FeedbackWriter)
            .write(feedbackRow({ rating: (i % 5) + 1, rater: `user:w${i}` })),
        ),
      );
      // Thirty thousand rows take many slices: the back-fill is still running here.
      expect(readiness[0].isReady).toBe(false);
      await expect(replicas[0].app.get(FeedbackService).stats({})).rejects.toThrow(
        /Feedback statistics are being back-filled from the stored rows \(.+\); retry in a minute/,
      );
      await writes;
      for (let i = 0; i < 300 && !readiness.every((r) => r.isReady); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(readiness.map((r) => r.isReady)).toEqual(readiness.map(() => true));

      const dataSource = replicas[0].app.get(DataSource);
      const now = new Date();
      const expected = await rawStatistics(dataSource, {}, now);
      expect(expected.total).toBe(STORED + 200);
      for (const r of replicas)
        expect(JSON.stringify(await r.app.get(FeedbackService).stats({}, now))).toBe(
          JSON.stringify(expected),
        );
      // What the back-fill and the writers left is what a recount gives.
      const kept = await rollupContents(dataSource);
      await rebuildFromRows(replicas[0].app);
      expect(await rollupContents(dataSource)).toEqual(kept);
      // One back-fill in all: its progress lines come from one replica only.
      for (const r of replicas) await r.stop();
      const filled = replicas.filter((r) =>
        readFileSync(join(r.dir, 'logs', 'terra_constellata.log'), 'utf8').includes(
          'Rebuilt feedback aggregates',
        ),
      );
      expect(filled).toHaveLength(1);
    }, 60_000);
  });
