import { randomUUID } from 'node:crypto';
import { FeedbackEntity } from '@app/feedback';

/** A feedback row as the service would store it: a neutral general rating, with whatever the test overrides. */
export function feedbackRow(overrides: Partial<FeedbackEntity> = {}): FeedbackEntity {
  return Object.assign(new FeedbackEntity(), {
    id: randomUUID(),
    targetType: 'general',
    targetId: null,
    rating: 3,
    comment: null,
    category: 'other',
    tags: [],
    metadata: null,
    sentiment: 'neutral',
    userId: null,
    requestId: null,
    idempotencyKey: null,
    requestFingerprint: null,
    rater: null,
    createdAt: new Date(),
    ...overrides,
  });
}
