import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

export const FEEDBACK_TARGET_TYPES = ['general', 'workflow', 'artwork'] as const;
export type FeedbackTargetType = (typeof FEEDBACK_TARGET_TYPES)[number];

export const FEEDBACK_CATEGORIES = [
  'quality',
  'performance',
  'usability',
  'bug',
  'feature_request',
  'other',
] as const;
export type FeedbackCategory = (typeof FEEDBACK_CATEGORIES)[number];

export const SENTIMENTS = ['positive', 'neutral', 'negative'] as const;
export type Sentiment = (typeof SENTIMENTS)[number];

// Indexes and checks repeat the migration's, so `migration:generate` sees no difference.
@Entity({ name: 'feedback' })
@Index('idx_feedback_created', ['createdAt', 'id'])
@Index('idx_feedback_type_created', ['targetType', 'createdAt'])
@Index('idx_feedback_target', ['targetType', 'targetId', 'createdAt'])
@Check('chk_feedback_rating', 'rating BETWEEN 1 AND 5')
export class FeedbackEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'target_type', type: 'varchar', length: 16 })
  targetType!: FeedbackTargetType;

  @Column({ name: 'target_id', type: 'varchar', length: 128, nullable: true })
  targetId!: string | null;

  @Column({ type: 'smallint' })
  rating!: number;

  @Column({ type: 'text', nullable: true })
  comment!: string | null;

  @Column({ type: 'varchar', length: 32 })
  category!: FeedbackCategory;

  @Column({ type: 'simple-json' })
  tags!: string[];

  @Column({ type: 'simple-json', nullable: true })
  metadata!: Record<string, string | number | boolean | null> | null;

  @Column({ type: 'varchar', length: 16 })
  sentiment!: Sentiment;

  @Column({ name: 'user_id', type: 'varchar', length: 128, nullable: true })
  userId!: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId!: string | null;

  /** A digest of the caller, endpoint, target and the client's Idempotency-Key; null once the key expired. */
  @Column({ name: 'idempotency_key', type: 'varchar', length: 128, nullable: true, unique: true })
  idempotencyKey!: string | null;

  /** A digest of the submission, so a retry with the same key and another body can be refused. */
  @Column({ name: 'request_fingerprint', type: 'varchar', length: 64, nullable: true })
  requestFingerprint!: string | null;

  /** Who rated: `user:<id>`, or `client:<digest of the address>` when anonymous; for distinct-rater flags. */
  @Column({ name: 'rater', type: 'varchar', length: 160, nullable: true })
  rater!: string | null;

  @Column({ name: 'created_at' })
  createdAt!: Date;
}
