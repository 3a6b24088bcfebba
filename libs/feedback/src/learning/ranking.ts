/** Weight of the prior in the Bayesian average: a group counts as this many ratings of the overall mean. */
export const RANKING_PRIOR_WEIGHT = 10;

export interface RatingGroup {
  key: string;
  count: number;
  sum: number;
}

export interface RankedEntry {
  /** The artwork style or workflow type. */
  key: string;
  /** Bayesian average: (prior weight x prior mean + sum of ratings) / (prior weight + count). */
  score: number;
  average_rating: number;
  count: number;
  /** count / (count + prior weight): how much the score rests on this group's own ratings, 0 to 1. */
  confidence: number;
  /** At least the minimum number of ratings to be trusted (FEEDBACK_FLAG_MIN_RATINGS). */
  enough_data: boolean;
}

export interface Ranking {
  prior_mean: number | null;
  prior_weight: number;
  entries: RankedEntry[];
}

const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places;

/**
 * Ranks groups by a Bayesian average that pulls small groups toward the mean of all ratings, so three 5-star
 * ratings do not beat three hundred 4.8s (the IMDb top-250 formula). Ties go to the group with more ratings.
 */
export function rank(groups: RatingGroup[], minRatings: number, priorWeight = RANKING_PRIOR_WEIGHT): Ranking {
  const total = groups.reduce((acc, g) => ({ count: acc.count + g.count, sum: acc.sum + g.sum }), {
    count: 0,
    sum: 0,
  });
  if (total.count === 0) return { prior_mean: null, prior_weight: priorWeight, entries: [] };
  const mean = total.sum / total.count;
  const entries = groups
    .filter((g) => g.count > 0)
    .map((g) => ({
      key: g.key,
      score: round((priorWeight * mean + g.sum) / (priorWeight + g.count), 4),
      average_rating: round(g.sum / g.count, 2),
      count: g.count,
      confidence: round(g.count / (g.count + priorWeight), 3),
      enough_data: g.count >= minRatings,
    }))
    .sort((a, b) => b.score - a.score || b.count - a.count || a.key.localeCompare(b.key));
  return { prior_mean: round(mean, 4), prior_weight: priorWeight, entries };
}
