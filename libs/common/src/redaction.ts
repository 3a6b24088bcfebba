/** Keys whose values never reach a log line or an error report, at any depth. */
const SECRET_KEY =
  /^(authorization|cookie|set-cookie|password|passwd|pwd|token|access_token|refresh_token|id_token|secret|client_secret|api[_-]?key|apikey|x-api-key)$/i;

export const REDACTED = '[REDACTED]';

/** A copy of `value` with secret-named fields replaced, at any depth; Errors and Dates are kept as they are. */
export function redactDeep<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || value instanceof Error || value instanceof Date)
    return value;
  if (depth > 8) return '[Truncated]' as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1)) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    copy[key] = SECRET_KEY.test(key) ? REDACTED : redactDeep(item, depth + 1);
  }
  return copy as T;
}
