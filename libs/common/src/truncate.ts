/** Longest SQL text a log line carries: a multi-row INSERT can be hundreds of kilobytes. */
export const MAX_LOGGED_SQL = 2000;

/** A string cut to `max` characters, saying how long it was; anything else unchanged. */
export function truncate<T>(text: T, max: number): T | string {
  return typeof text === 'string' && text.length > max
    ? `${text.slice(0, max)}… (${text.length} chars)`
    : text;
}
