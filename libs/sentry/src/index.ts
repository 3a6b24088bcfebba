export {
  buildSentryOptions,
  droppedErrorReports,
  DROP_REASONS,
  onDeliveryStateChange,
  type DropReason,
  initSentry,
  modeFor,
  sentryMode,
  SENTRY_FLUSH_TIMEOUT_MS,
  SENTRY_MAX_IN_FLIGHT,
  type SentryMode,
} from './sentry.setup';
export { scrubEvent } from './scrub-event';
