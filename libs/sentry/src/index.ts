export {
  buildSentryOptions,
  droppedErrorReports,
  initSentry,
  modeFor,
  sentryMode,
  SENTRY_FLUSH_TIMEOUT_MS,
  SENTRY_MAX_IN_FLIGHT,
  type SentryMode,
} from './sentry.setup';
export { scrubEvent } from './scrub-event';
