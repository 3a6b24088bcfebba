import type { FeedbackEntity } from '../entities/feedback.entity';

/** The stored record as the API shows it. */
export interface FeedbackRecord {
  id: string;
  target_type: string;
  target_id: string | null;
  rating: number;
  comment: string | null;
  category: string;
  tags: string[];
  user_id: string | null;
  metadata: Record<string, string | number | boolean | null> | null;
  sentiment: string;
  created_at: string;
}

export function toRecord(entity: FeedbackEntity): FeedbackRecord {
  return {
    id: entity.id,
    target_type: entity.targetType,
    target_id: entity.targetId,
    rating: entity.rating,
    comment: entity.comment,
    category: entity.category,
    tags: entity.tags,
    user_id: entity.userId,
    metadata: entity.metadata,
    sentiment: entity.sentiment,
    created_at: entity.createdAt.toISOString(),
  };
}
