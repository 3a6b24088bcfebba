/**
 * Keys whose values never reach a log line or an error report, at any depth: the usual credential names, and
 * any name ending in one of them after `_`, `-` or `.` (`db_password`, `client_secret`, `x-gateway-secret`).
 */
const SECRET_KEY =
  /^(authorization|proxy-authorization|cookie|set-cookie|passwd|pwd|apikey)$|(^|[_.-])(password|secret|token|api[_-]?key)$/i;

export const REDACTED = '[REDACTED]';

// Words that start every secret the text patterns below remove: one scan that finds none of them (nearly every
// string logged) spares the replacements.
const SUSPECT = /pass|pwd|secret|token|api[_-]?key|authorization|cookie|bearer|:\/\//i;

// `password=hunter2`, `"token": "t0k"`, `api_key: abc`, `?access_token=...&`: the value after a secret-named
// key and `=` or `:`, up to the end of the value (a quoted one to its quote). The key may carry a prefix
// (`db_password`), which the match leaves in place.
const SECRET_PAIR =
  /((?:password|passwd|pwd|secret|token|api[_-]?key|apikey|authorization|cookie)["']?\s*[=:]\s*)(?:"[^"]*"|'[^']*'|[^\s"'&,;]+)/gi;
// `Bearer eyJ...`: the token of an Authorization header quoted in a message.
const BEARER = /\b(bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
// `postgres://user:pass@host`, `https://TOKEN@host`: the user information of a URL.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"']+@/gi;

/** `text` with secret-looking `key=value` values, bearer tokens and URL credentials replaced by REDACTED. */
export function redactText(text: string): string {
  if (!SUSPECT.test(text)) return text;
  return text
    .replace(BEARER, `$1${REDACTED}`)
    .replace(URL_CREDENTIALS, `$1${REDACTED}@`)
    .replace(SECRET_PAIR, (match: string, key: string) => {
      const value = match.slice(key.length);
      // Already replaced as a bearer token: `Authorization: Bearer [REDACTED]` keeps its scheme.
      if (value.toLowerCase() === 'bearer') return match;
      const quote = value[0] === '"' || value[0] === "'" ? value[0] : '';
      return `${key}${quote}${REDACTED}${quote}`;
    });
}

/**
 * A copy of `value` with secret-named fields replaced and secrets in free text (redactText) removed, at any
 * depth; Errors and Dates are kept as they are (the log's error serializer redacts an error's message).
 */
export function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (value === null || typeof value !== 'object' || value instanceof Error || value instanceof Date)
    return value;
  if (depth > 8) return '[Truncated]' as T;
  // What JSON.stringify would write for it (a URL's href, a Buffer's bytes), redacted like the rest.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return redactDeep(toJSON.call(value) as T, depth + 1);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1)) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    copy[key] = SECRET_KEY.test(key) ? REDACTED : redactDeep(item, depth + 1);
  }
  return copy as T;
}
