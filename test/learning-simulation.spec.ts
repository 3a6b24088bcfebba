import { inProcessService, simulate, type Policy } from '../bench/learning';
import { ENGINES } from './support/engines';

// The bench's learning simulation, short and with one fixed seed: the policy the service runs against the
// greedy ranking it replaced, on the same hidden user tastes.
for (const engine of ENGINES)
  engine.describe(`recommendations learn what users rate best (${engine.name})`, () => {
    const run = async (policy: Policy) => {
      const setup = await engine.setup();
      const service = await inProcessService(setup.env, 1);
      try {
        return await simulate(service, { policy, seed: 1, workflows: 300, recomputeEvery: 50 });
      } finally {
        await service.close();
        await setup.cleanup();
      }
    };

    it('beats the greedy ranking on regret over 300 workflows and never recommends a flagged style', async () => {
      const thompson = await run('thompson');
      const greedy = await run('greedy');
      expect(thompson.regret).toBeLessThan(greedy.regret);
      expect(thompson.flagged_recommended).toBe(0);
      // Greedy locks onto the first style anyone rated; the sampler found the best one.
      expect(thompson.best_share_last_500).toBeGreaterThan(greedy.best_share_last_500);
    }, 60_000);
  });
