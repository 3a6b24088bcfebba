// Loaded first by main.ts: Sentry must start before the HTTP stack, Nest and pg are imported, so that in
// tracing mode its instrumentation can hook them. Imports only Nest-free libs.
import { ConfigError, loadConfig } from '@app/config';
import { initSentry } from '@app/sentry';

try {
  initSentry(loadConfig());
} catch (error) {
  // main() reports a bad configuration in one line; anything else is a bug and must surface.
  if (!(error instanceof ConfigError)) throw error;
}
