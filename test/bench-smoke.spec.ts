import { existsSync, readFileSync } from 'node:fs';
import { overhead } from '../bench/run';

// The benchmark is not part of npm test; this short run of its first scenario keeps it from rotting.
describe('bench (smoke run of the overhead scenario)', () => {
  it('serves the same endpoint three ways, measures each, and writes its result', async () => {
    const result = await overhead({ smoke: true, rounds: 1, duration: 1 });
    expect(Object.keys(result.summary).sort()).toEqual(['a', 'b', 'c']);
    for (const variant of Object.values(result.summary)) {
      expect(variant.rps).toBeGreaterThan(100);
      expect(variant.non2xx).toBe(0);
    }
    expect(result.ratios['c/b']).toBeGreaterThan(0);
    // CPU per request comes from /proc/<pid>/stat, which every Linux machine here has.
    expect(result.cpu_capacity_ratios['c/b']).toBeGreaterThan(0);
    for (const variant of Object.values(result.summary))
      expect(variant.cpu_us_per_request).toBeGreaterThan(0);
    expect(existsSync(result.file)).toBe(true);
    expect(JSON.parse(readFileSync(result.file, 'utf8')).scenario).toBe('overhead');
  }, 60_000);
});
