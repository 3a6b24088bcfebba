import {
  confidentlyBelow,
  posteriorMean,
  recommend,
  RecommendationRandom,
  sampleBeta,
  type StyleArm,
} from './bandit';

const arm = (style: string, ratings: number[], flagged = false): StyleArm => ({
  style,
  count: ratings.length,
  sum: ratings.reduce((a, b) => a + b, 0),
  raters: ratings.length,
  flagged,
});

describe('the recommendation bandit', () => {
  it('draws the same sequence from the same seed, and another from another seed', () => {
    const draws = (seed: number) => {
      const random = new RecommendationRandom(seed);
      return Array.from({ length: 5 }, () => random.next());
    };
    expect(draws(42)).toEqual(draws(42));
    expect(draws(42)).not.toEqual(draws(43));
    for (const value of draws(7)) expect(value >= 0 && value < 1).toBe(true);
  });

  it('samples Beta distributions with the right mean and spread', () => {
    const random = new RecommendationRandom(1);
    for (const [alpha, beta] of [
      [1, 1],
      [2, 8],
      [0.5, 0.5],
      [30, 10],
    ]) {
      const samples = Array.from({ length: 20_000 }, () => sampleBeta(alpha, beta, random));
      const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
      const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length;
      const n = alpha + beta;
      expect(mean).toBeCloseTo(alpha / n, 2);
      expect(variance).toBeCloseTo((alpha * beta) / (n * n * (n + 1)), 2);
    }
  });

  it('keeps the posterior mean on the 1-5 scale: 3 for no ratings, towards the ratings as they come', () => {
    expect(posteriorMean(arm('a', []))).toBe(3);
    expect(posteriorMean(arm('a', [5, 5, 5, 5, 5, 5, 5, 5]))).toBeCloseTo(1 + (4 * 9) / 10, 10);
    expect(posteriorMean(arm('a', Array(100).fill(1)))).toBeLessThan(1.1);
  });

  it('calls a style confidently below the flag threshold only with enough ratings', () => {
    expect(confidentlyBelow(arm('a', [1]), 2.5)).toBe(false);
    expect(confidentlyBelow(arm('a', Array(12).fill(1)), 2.5)).toBe(true);
    expect(confidentlyBelow(arm('a', Array(40).fill(3)), 2.5)).toBe(false);
  });

  it('never recommends a flagged style while another is available, and explores the unrated one', () => {
    const random = new RecommendationRandom(3);
    const arms = [arm('celestial', [1, 1, 1, 1, 1, 1], true), arm('abstract', [])];
    for (let i = 0; i < 200; i++)
      expect(recommend(arms, 5, random)).toEqual({
        style: 'abstract',
        reason: 'exploring',
        score: 3,
        count: 0,
        enough_data: false,
      });
  });

  it('mostly exploits a well-rated style, still tries the others now and then, and says which it did', () => {
    const random = new RecommendationRandom(11);
    const arms = [
      arm('celestial', Array(60).fill(5)),
      arm('abstract', Array(60).fill(3)),
      arm('photographic', []),
    ];
    const chosen = Array.from({ length: 1000 }, () => recommend(arms, 5, random));
    const best = chosen.filter((r) => r.style === 'celestial');
    expect(best.length).toBeGreaterThan(900);
    expect(best.every((r) => r.reason === 'best')).toBe(true);
    expect(chosen.filter((r) => r.style === 'photographic').every((r) => r.reason === 'exploring')).toBe(
      true,
    );
    expect(chosen.some((r) => r.style === 'photographic')).toBe(true);
  });

  it('falls back to the least disliked style when every one is flagged, and answers null without styles', () => {
    const random = new RecommendationRandom(5);
    expect(recommend([arm('a', [1, 1, 1], true), arm('b', [2, 2, 2], true)], 3, random)).toMatchObject({
      style: 'b',
      reason: 'only_option',
    });
    expect(recommend([arm('a', [4])], 3, random)).toMatchObject({ style: 'a', reason: 'only_option' });
    expect(recommend([], 3, random)).toEqual({
      style: null,
      reason: null,
      score: null,
      count: 0,
      enough_data: false,
    });
  });
});
