import { existsSync, readFileSync } from 'node:fs';
import { overhead } from '../bench/run';

// The benchmark is not part of npm test; this short run of its first scenario keeps it from rotting. A one-second
// run on a shared machine says nothing about speed, so this checks only what it can show: every variant
// answered every request, and the result file holds every field the README's table is made from.
describe('bench (smoke run of the overhead scenario)', () => {
  it('serves the same endpoint three ways, measures each, and writes a complete result', async () => {
    const result = await overhead({ smoke: true, rounds: 1, duration: 1 });
    expect(Object.keys(result.summary).sort()).toEqual(['a', 'b', 'c']);
    for (const variant of Object.values(result.summary)) {
      expect(variant.runs).toHaveLength(1);
      expect(variant.runs[0].total).toBeGreaterThan(0);
      expect(variant.non2xx).toBe(0);
      expect(Number.isFinite(variant.p99_ms)).toBe(true);
      // CPU per request comes from /proc/<pid>/stat, which every Linux machine here has.
      expect(Number.isFinite(variant.cpu_us_per_request)).toBe(true);
    }
    expect(existsSync(result.file)).toBe(true);
    const written = JSON.parse(readFileSync(result.file, 'utf8'));
    expect(written).toMatchObject({
      scenario: 'overhead',
      machine: { node: process.version },
      options: { smoke: true, rounds: 1, duration: 1 },
      ratios: { 'c/b': expect.any(Number) },
      cpu_capacity_ratios: { 'c/b': expect.any(Number) },
      c_p99_minus_b_p99_ms: expect.any(Number),
    });
    expect(Object.keys(written.summary).sort()).toEqual(['a', 'b', 'c']);
  }, 60_000);
});
