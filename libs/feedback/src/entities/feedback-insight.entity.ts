import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { FeedbackInsights } from '../learning/insights.types';

/** One computation of the learning loop; the newest row is what /api/feedback/insights serves after a restart. */
@Entity({ name: 'feedback_insights' })
@Index('idx_feedback_insights_computed', ['computedAt'])
export class FeedbackInsightEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'computed_at' })
  computedAt!: Date;

  @Column({ type: 'varchar', length: 16 })
  trigger!: string;

  @Column({ type: 'simple-json' })
  payload!: FeedbackInsights;
}
