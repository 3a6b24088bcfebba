import { CreateFeedback1764270000000 } from './1764270000000-create-feedback';
import { CreateInsightsWorkflowsArtworks1764280000000 } from './1764280000000-create-insights-workflows-artworks';
import { AddRequestFingerprint1764290000000 } from './1764290000000-add-request-fingerprint';
import { CreateFeedbackAggregates1764300000000 } from './1764300000000-create-feedback-aggregates';

/** Every migration, oldest first. A new migration file must be added here. */
export const MIGRATIONS = [
  CreateFeedback1764270000000,
  CreateInsightsWorkflowsArtworks1764280000000,
  AddRequestFingerprint1764290000000,
  CreateFeedbackAggregates1764300000000,
];
