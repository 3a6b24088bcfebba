import { ApiProperty } from '@nestjs/swagger';

/** Weight of the prior in the Bayesian average: a group counts as this many ratings of the overall mean. */
export const RANKING_PRIOR_WEIGHT = 10;

export interface RatingGroup {
  key: string;
  count: number;
  sum: number;
  /** Whether users are known to dislike the group (see LearningLoopService). */
  flagged?: boolean;
}

export class RankedEntry {
  @ApiProperty({ example: 'celestial', description: 'The artwork style or workflow type' })
  key!: string;

  @ApiProperty({
    example: 4.61,
    description: 'Bayesian average: (prior weight x prior mean + sum of ratings) / (prior weight + count)',
  })
  score!: number;

  @ApiProperty({ example: 4.75 })
  average_rating!: number;

  @ApiProperty({ type: 'integer', minimum: 1, example: 8 })
  count!: number;

  @ApiProperty({
    minimum: 0,
    maximum: 1,
    example: 0.444,
    description: "count / (count + prior weight): how much the score rests on the group's own ratings",
  })
  confidence!: number;

  @ApiProperty({ example: true, description: 'At least FEEDBACK_FLAG_MIN_RATINGS ratings' })
  enough_data!: boolean;

  @ApiProperty({
    example: false,
    description:
      'Rated under FEEDBACK_FLAG_THRESHOLD by FEEDBACK_FLAG_MIN_RATINGS raters or more (each target counting its own distinct raters), or below it with 95 % confidence: never recommended while another style is available',
  })
  flagged!: boolean;
}

export class Ranking {
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 4.1,
    description: 'Mean of all ratings of this kind; null without any',
  })
  prior_mean!: number | null;

  @ApiProperty({ type: 'integer', example: RANKING_PRIOR_WEIGHT })
  prior_weight!: number;

  @ApiProperty({ type: [RankedEntry], description: 'Best score first' })
  entries!: RankedEntry[];
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
      flagged: g.flagged ?? false,
    }))
    .sort((a, b) => b.score - a.score || b.count - a.count || a.key.localeCompare(b.key));
  return { prior_mean: round(mean, 4), prior_weight: priorWeight, entries };
}
