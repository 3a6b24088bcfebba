import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { FeedbackAggregatesRepository, FeedbackEntity, rebuildAggregates } from '@app/feedback';

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

/** Deletes every feedback row and every roll-up of them, as if nothing had been submitted. */
export async function clearFeedback(dataSource: DataSource): Promise<void> {
  for (const table of ['feedback', 'feedback_rollups', 'feedback_targets', 'feedback_target_raters'])
    await dataSource.query(`DELETE FROM ${table}`);
}

/** Recounts the roll-ups from the rows, as `npm run db:rebuild-aggregates` does (after rows written by SQL). */
export async function rebuildFromRows(app: INestApplication): Promise<void> {
  await rebuildAggregates(app.get(FeedbackAggregatesRepository), () => undefined);
}
