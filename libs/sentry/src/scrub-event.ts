import type { Event } from '@sentry/nestjs';
import { redactDeep, redactText } from '@app/common';

function scrubBody(data: unknown): unknown {
  if (typeof data !== 'string') return redactDeep(data);
  try {
    return JSON.stringify(redactDeep(JSON.parse(data)));
  } catch {
    // Not JSON (a form, text): it cannot be scrubbed field by field, so none of it leaves the process.
    return '[Filtered]';
  }
}

/**
 * Removes secrets from an event before it leaves the process: cookies entirely; authorization, cookie and
 * other secret-named fields in headers, bodies, extra data, contexts and breadcrumbs; secrets in the free text
 * of the message and exception values (redactText, as on every log line); the user's IP address.
 */
export function scrubEvent<T extends Event>(event: T): T {
  if (event.request) {
    const { cookies: _cookies, ...request } = event.request;
    if (request.headers) request.headers = redactDeep(request.headers);
    if (request.data !== undefined) request.data = scrubBody(request.data);
    event.request = request;
  }
  // Messages and exception values are free text: an error can quote a connection string or a client's input.
  if (typeof event.message === 'string') event.message = redactText(event.message);
  for (const exception of event.exception?.values ?? []) {
    if (typeof exception.value === 'string') exception.value = redactText(exception.value);
  }
  if (event.extra) event.extra = redactDeep(event.extra);
  if (event.contexts) event.contexts = redactDeep(event.contexts);
  if (event.breadcrumbs) {
    event.breadcrumbs = event.breadcrumbs.map((crumb) =>
      crumb.data ? { ...crumb, data: redactDeep(crumb.data) } : crumb,
    );
  }
  if (event.user) {
    const { ip_address: _ip, ...user } = event.user;
    event.user = user;
  }
  return event;
}
