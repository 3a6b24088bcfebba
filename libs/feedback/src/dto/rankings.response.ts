import { ApiProperty } from '@nestjs/swagger';
import { Ranking } from '../learning/ranking';

/** The rankings the generator asks for: artwork styles and workflow types by their ratings. */
export class Rankings {
  @ApiProperty({ format: 'date-time', description: 'The recompute these rankings come from' })
  computed_at!: string;

  @ApiProperty({ type: Ranking, description: 'Styles, from feedback on artworks' })
  artwork_styles!: Ranking;

  @ApiProperty({ type: Ranking, description: 'Workflow types, from feedback on workflows' })
  workflow_types!: Ranking;
}

/**
 * What the generator is told before it generates: the best-ranked style and whether enough ratings back it. Before
 * any artwork is rated there is no style to recommend: style and score are null, count 0.
 */
export class RecommendedStyle {
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'celestial',
    description: 'null before any artwork is rated',
  })
  style!: string | null;

  @ApiProperty({ type: Number, nullable: true, example: 4.61, description: 'Its Bayesian score' })
  score!: number | null;

  @ApiProperty({ type: 'integer', minimum: 0, example: 8, description: 'The ratings behind it' })
  count!: number;

  @ApiProperty({ example: true, description: 'At least FEEDBACK_FLAG_MIN_RATINGS ratings back it' })
  enough_data!: boolean;
}

/** A workflow's or artwork's own feedback: how many ratings, their average, and whether it is flagged. */
export class TargetFeedbackSummary {
  @ApiProperty({ type: 'integer', minimum: 0, example: 3 })
  count!: number;

  @ApiProperty({ type: Number, nullable: true, example: 1.67, description: 'null without ratings' })
  average_rating!: number | null;

  @ApiProperty({ example: false })
  flagged!: boolean;
}
