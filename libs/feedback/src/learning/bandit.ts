import { randomInt } from 'node:crypto';
import type { RECOMMENDATION_REASONS } from '@app/metrics';

/** Why a style was recommended. */
export type RecommendationReason = (typeof RECOMMENDATION_REASONS)[number];

/** One style the generator may use, with the ratings its artworks received. */
export interface StyleArm {
  style: string;
  count: number;
  sum: number;
  /** Distinct raters of each of its artworks, added up (a user who rated two of its artworks counts twice). */
  raters: number;
  flagged: boolean;
}

export interface Recommendation {
  style: string | null;
  reason: RecommendationReason | null;
  /** The posterior mean rating (1-5) of the style. */
  score: number | null;
  count: number;
  enough_data: boolean;
}

/**
 * The randomness of the recommendations: a small seeded generator (mulberry32), so that a test or a simulation
 * given the same seed sees the same recommendations. Seeded from the system's randomness unless given one.
 */
export class RecommendationRandom {
  private state: number;

  constructor(seed: number = randomInt(2 ** 31)) {
    this.state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

// A rating r of 1-5 is a fractional success (r - 1) / 4 of a Bernoulli trial, and each style's success
// probability has a Beta(1, 1) prior: the conjugate update stays exact for fractions, needs only the count
// and the rating sum the roll-ups keep, and a style nobody rated is uniform over 1-5 stars, so Thompson
// sampling tries it. A Normal-Gamma would also model the spread of ratings, which the choice does not need.
const PRIOR_ALPHA = 1;
const PRIOR_BETA = 1;

function posterior(arm: Pick<StyleArm, 'count' | 'sum'>): { alpha: number; beta: number } {
  const successes = (arm.sum - arm.count) / 4;
  return { alpha: PRIOR_ALPHA + successes, beta: PRIOR_BETA + arm.count - successes };
}

/** The posterior mean rating (1-5) of a style. */
export function posteriorMean(arm: Pick<StyleArm, 'count' | 'sum'>): number {
  const { alpha, beta } = posterior(arm);
  return 1 + (4 * alpha) / (alpha + beta);
}

/**
 * True when the style's mean rating is below `threshold` with 95 % posterior probability (normal
 * approximation of the Beta, good from a few ratings on): users dislike it, whoever rated it.
 */
export function confidentlyBelow(arm: Pick<StyleArm, 'count' | 'sum'>, threshold: number): boolean {
  if (arm.count === 0) return false;
  const { alpha, beta } = posterior(arm);
  const n = alpha + beta;
  const mean = alpha / n;
  const sd = Math.sqrt((alpha * beta) / (n * n * (n + 1)));
  return 1 + 4 * (mean + 1.645 * sd) < threshold;
}

function gaussian(random: RecommendationRandom): number {
  // Box-Muller; 1 - u keeps the logarithm finite.
  const u = 1 - random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A Gamma(shape, 1) sample (Marsaglia and Tsang; shape < 1 through the boost Gamma(shape + 1) x U^(1/shape)). */
function gamma(shape: number, random: RecommendationRandom): number {
  if (shape < 1) return gamma(shape + 1, random) * Math.pow(1 - random.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = gaussian(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** A Beta(alpha, beta) sample. */
export function sampleBeta(alpha: number, beta: number, random: RecommendationRandom): number {
  const x = gamma(alpha, random);
  const y = gamma(beta, random);
  return x / (x + y);
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * Thompson sampling over the styles: one draw from each eligible style's posterior, the highest wins. A flagged
 * style is never chosen while another is available; unrated styles are drawn from the uniform prior, so they
 * get tried. `best` when the winner is also the style with the highest posterior mean and enough ratings,
 * `exploring` otherwise, `only_option` when nothing else could be chosen.
 */
export function recommend(
  arms: StyleArm[],
  minRatings: number,
  random: RecommendationRandom,
): Recommendation {
  if (arms.length === 0) return { style: null, reason: null, score: null, count: 0, enough_data: false };
  const eligible = arms.filter((arm) => !arm.flagged);
  const byMean = (a: StyleArm, b: StyleArm) => posteriorMean(b) - posteriorMean(a) || b.count - a.count;
  const answer = (arm: StyleArm, reason: RecommendationReason): Recommendation => ({
    style: arm.style,
    reason,
    score: round2(posteriorMean(arm)),
    count: arm.count,
    enough_data: arm.count >= minRatings,
  });
  // Every style flagged: the least disliked one, said plainly.
  if (eligible.length === 0) return answer([...arms].sort(byMean)[0], 'only_option');
  if (eligible.length === 1 && arms.length === 1) return answer(eligible[0], 'only_option');
  let chosen = eligible[0];
  let best = -1;
  for (const arm of eligible) {
    const { alpha, beta } = posterior(arm);
    const draw = sampleBeta(alpha, beta, random);
    if (draw > best) {
      best = draw;
      chosen = arm;
    }
  }
  const leader = [...eligible].sort(byMean)[0];
  return answer(chosen, chosen === leader && chosen.count >= minRatings ? 'best' : 'exploring');
}
