import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { parseConfig } from '@app/config';
import { LearningLoopService, RecommendationRandom } from '@app/feedback';
import { AppModule } from '../apps/api/src/app.module';
import { APP_OPTIONS, configureApp, createFastifyAdapter } from '../apps/api/src/app.setup';

/** Hidden true mean rating of each style of the catalog: what simulated users think, unknown to the service. */
export const TRUE_MEANS: Record<string, number> = {
  abstract: 3.0,
  celestial: 3.4,
  cartographic: 2.1,
  impressionist: 3.9,
  photographic: 4.3,
};
const BEST = Object.entries(TRUE_MEANS).sort((a, b) => b[1] - a[1])[0];
/** The style a generator uses when it is told nothing (today, before any rating): the catalog's first. */
const DEFAULT_STYLE = 'abstract';

export type Policy = 'thompson' | 'greedy';

export interface SimulationResult {
  policy: Policy;
  seed: number;
  workflows: number;
  /** Sum over the workflows of (best true mean - the chosen style's true mean). */
  regret: number;
  /** Share of the last 500 recommendations (or all, when fewer) that went to the best style. */
  best_share_last_500: number;
  /** Recommendations of a style the service had flagged, while another was available. */
  flagged_recommended: number;
}

/** The whole service in this process, on its own SQLite file (or `env`'s DATABASE_URL), with a seeded sampler. */
export async function inProcessService(env: Record<string, string>, seed: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tc-learning-'));
  const config = parseConfig({
    ENVIRONMENT: 'test',
    SQLITE_PATH: join(dir, 'db.sqlite'),
    LOG_DIR: join(dir, 'logs'),
    LOG_CONSOLE: 'off',
    RATE_LIMIT_WRITES: '0',
    RATE_LIMIT_READS: '0',
    // Recomputes only when the simulation asks.
    FEEDBACK_INSIGHTS_INTERVAL_MS: '86400000',
    ...env,
  });
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
    .overrideProvider(RecommendationRandom)
    .useValue(new RecommendationRandom(seed))
    .compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    createFastifyAdapter(config),
    APP_OPTIONS,
  );
  await configureApp(app);
  await app.init();
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.ready();
  const call = async (
    method: 'GET' | 'POST',
    url: string,
    body?: object,
    headers: Record<string, string> = {},
  ) => {
    const res = await fastify.inject({ method, url, payload: body, headers });
    if (res.statusCode >= 300) throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body}`);
    return res.json() as Record<string, unknown>;
  };
  return {
    app,
    call,
    recompute: () => app.get(LearningLoopService).recompute('request'),
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `workflows` artwork generations through the service: create the workflow, take its recommended style
 * (thompson) or the top of the Bayesian ranking as the service chose before (greedy), record the artwork, and
 * let a simulated user rate it from the style's hidden distribution; the learning loop recomputes every
 * `recomputeEvery` workflows.
 */
export async function simulate(
  service: Awaited<ReturnType<typeof inProcessService>>,
  options: { policy: Policy; seed: number; workflows: number; recomputeEvery?: number },
): Promise<SimulationResult> {
  const users = new RecommendationRandom(options.seed * 7919 + 1);
  const gaussian = () => {
    const u = 1 - users.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * users.next());
  };
  const every = options.recomputeEvery ?? 50;
  const lastWindow = Math.min(500, options.workflows);
  let regret = 0;
  let bestInWindow = 0;
  let flaggedRecommended = 0;
  let flagged = new Set<string>();
  let greedyTop: string | null = null;
  for (let i = 0; i < options.workflows; i++) {
    if (i % every === 0) {
      await service.recompute();
      const rankings = (await service.call('GET', '/api/feedback/rankings')) as {
        artwork_styles: { entries: Array<{ key: string; flagged: boolean }> };
      };
      flagged = new Set(rankings.artwork_styles.entries.filter((e) => e.flagged).map((e) => e.key));
      greedyTop = rankings.artwork_styles.entries[0]?.key ?? null;
    }
    const workflow = (await service.call('POST', '/api/workflows', { type: 'artwork_generation' })) as {
      id: string;
      recommended_style: { style: string | null };
    };
    const style =
      options.policy === 'thompson'
        ? (workflow.recommended_style.style ?? DEFAULT_STYLE)
        : (greedyTop ?? DEFAULT_STYLE);
    if (flagged.has(style) && flagged.size < Object.keys(TRUE_MEANS).length) flaggedRecommended++;
    regret += BEST[1] - TRUE_MEANS[style];
    if (i >= options.workflows - lastWindow && style === BEST[0]) bestInWindow++;
    const artwork = (await service.call('POST', '/api/artworks', { workflow_id: workflow.id, style })) as {
      id: string;
    };
    const rating = Math.min(5, Math.max(1, Math.round(TRUE_MEANS[style] + 0.9 * gaussian())));
    await service.call(
      'POST',
      `/api/feedback/artwork/${artwork.id}`,
      { rating },
      { 'x-user-id': `sim-${i}` },
    );
  }
  return {
    policy: options.policy,
    seed: options.seed,
    workflows: options.workflows,
    regret: Math.round(regret * 10) / 10,
    best_share_last_500: Math.round((bestInWindow / lastWindow) * 1000) / 1000,
    flagged_recommended: flaggedRecommended,
  };
}
