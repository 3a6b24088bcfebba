import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { FeedbackEntity, FeedbackService } from '@app/feedback';
import { createTestApp, type TestApp } from './support/app';
import { ENGINES } from './support/engines';
import { feedbackRow } from './support/feedback-row';
import { rawStatistics } from './support/raw-statistics';

const REBUILD = join(__dirname, '..', 'dist', 'apps', 'api', 'src', 'rebuild-aggregates.js');
const run = promisify(execFile);

// `npm run db:rebuild-aggregates` as an operator runs it, beside the running service, on the service's database.
for (const engine of ENGINES)
  engine.describe(`npm run db:rebuild-aggregates (${engine.name})`, () => {
    let t: TestApp;
    let env: Record<string, string>;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      if (!existsSync(REBUILD))
        throw new Error(`${REBUILD} is missing: run "npm run build" first (npm test does)`);
      const setup = await engine.setup();
      cleanup = setup.cleanup;
      t = await createTestApp(setup.env);
      env =
        engine.name === 'PostgreSQL'
          ? { DATABASE_URL: setup.env.DATABASE_URL }
          : { SQLITE_PATH: (t.config.database as { path: string }).path };
    });

    afterAll(async () => {
      await t.close();
      await cleanup();
    });

    it('counts rows inserted by SQL, prints its progress, and leaves statistics equal to GROUP BY over the rows', async () => {
      const rows = Array.from({ length: 500 }, (_, i) =>
        feedbackRow({
          targetType: (['general', 'workflow', 'artwork'] as const)[i % 3],
          targetId: i % 3 === 0 ? null : `cli-${i % 9}`,
          rating: (i % 5) + 1,
          rater: `user:${i % 13}`,
          createdAt: new Date(Date.now() - i * 3_000_000),
        }),
      );
      await t.app.get(DataSource).getRepository(FeedbackEntity).insert(rows);
      const { stdout } = await run(process.execPath, [REBUILD], {
        env: { PATH: process.env.PATH, ...env },
        timeout: 60_000,
      });
      expect(stdout).toMatch(/Rebuilding the feedback aggregates of (SQLite|PostgreSQL) /);
      expect(stdout).toMatch(
        /Rebuilt feedback aggregates: 500 rows over \d+ days, 333 rated rows, in [\d.]+ s/,
      );
      const now = new Date();
      const served = await t.app.get(FeedbackService).stats({}, now);
      expect(JSON.stringify(served)).toBe(
        JSON.stringify(await rawStatistics(t.app.get(DataSource), {}, now)),
      );
      expect(served.total).toBe(500);
    });
  });

describe('npm run db:rebuild-aggregates with a bad configuration', () => {
  it('stops with one readable line', async () => {
    await expect(
      run(process.execPath, [REBUILD], { env: { PATH: process.env.PATH, DATABASE_URL: 'mysql://x' } }),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^Invalid configuration: DATABASE_URL .+\n$/),
    });
  });
});
