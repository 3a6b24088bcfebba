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
 * What the generator is told before it generates: the style to use and why. Thompson sampling over each
 * style's posterior (a Beta on (rating - 1) / 4): mostly the style users rate best, now and then one with few or
 * no ratings, never a flagged one while another is available.
 */
export class RecommendedStyle {
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'celestial',
    description: 'null only when the style catalog is empty',
  })
  style!: string | null;

  @ApiProperty({
    type: String,
    enum: ['best', 'exploring', 'only_option'],
    nullable: true,
    example: 'best',
    description:
      'best: the style with the highest posterior mean and enough ratings; exploring: one the sampler tries to learn more about; only_option: nothing else could be chosen (one style, or every style flagged); null with style',
  })
  reason!: 'best' | 'exploring' | 'only_option' | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 4.61,
    description: 'Its posterior mean rating (1-5; 3 without ratings)',
  })
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
