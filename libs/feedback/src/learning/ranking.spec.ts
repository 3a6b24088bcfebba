import { rank } from './ranking';

describe('rank', () => {
  it('does not let three 5-star ratings beat three hundred 4.8s', () => {
    const ranking = rank(
      [
        { key: 'few_fives', count: 3, sum: 15 },
        { key: 'many_good', count: 300, sum: 300 * 4.8 },
        { key: 'average', count: 100, sum: 300 },
      ],
      5,
    );
    expect(ranking.entries.map((e) => e.key)).toEqual(['many_good', 'few_fives', 'average']);
    const [best, few] = ranking.entries;
    expect(best.score).toBeGreaterThan(few.score);
    expect(few.average_rating).toBe(5);
    expect(few.enough_data).toBe(false);
    expect(best.enough_data).toBe(true);
    expect(best.confidence).toBeCloseTo(300 / 310, 3);
  });

  it('drops a group that collects bad ratings below one that did not', () => {
    const before = rank(
      [
        { key: 'watercolor', count: 10, sum: 45 },
        { key: 'ink', count: 10, sum: 40 },
      ],
      5,
    );
    expect(before.entries[0].key).toBe('watercolor');
    const after = rank(
      [
        { key: 'watercolor', count: 30, sum: 45 + 20 },
        { key: 'ink', count: 10, sum: 40 },
      ],
      5,
    );
    expect(after.entries.map((e) => e.key)).toEqual(['ink', 'watercolor']);
  });

  it('is empty without ratings, and pulls a single rating toward the mean', () => {
    expect(rank([], 5)).toEqual({ prior_mean: null, prior_weight: 10, entries: [] });
    const ranking = rank(
      [
        { key: 'one', count: 1, sum: 1 },
        { key: 'many', count: 99, sum: 99 * 4 },
      ],
      5,
    );
    const one = ranking.entries.find((e) => e.key === 'one')!;
    // mean = 397 / 100 = 3.97; (10 x 3.97 + 1) / 11 = 3.7
    expect(one.score).toBeCloseTo(3.7, 3);
  });
});
