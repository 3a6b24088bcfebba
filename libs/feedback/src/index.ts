export {
  FeedbackEntity,
  FEEDBACK_CATEGORIES,
  FEEDBACK_TARGET_TYPES,
  SENTIMENTS,
  type FeedbackCategory,
  type FeedbackTargetType,
  type Sentiment,
} from './entities/feedback.entity';
