/** Seconds a client is told to wait (Retry-After) when the database cannot serve it now. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

// Connection-level failures and timeouts: the database is down, unreachable, too slow or shutting down. Not
// errors of the request itself, so they answer 503 and the client may retry.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000', // connection_exception
  '08001',
  '08003',
  '08004',
  '08006',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
]);

const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Connection is not established|Client has encountered a connection error|database is locked/i;

/** True when an error (a driver's, or TypeORM's wrapping one) means the database cannot serve now. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const { code, message, driverError, cause } = current as {
      code?: unknown;
      message?: unknown;
      driverError?: unknown;
      cause?: unknown;
    };
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
    current = driverError ?? cause;
  }
  return false;
}

/**
 * True for a data error of one row (PostgreSQL SQLSTATE classes 22 and 23, SQLite's CHECK, NOT NULL and type
 * constraints): its batch neighbours are fine.
 */
export function isRowDataError(error: unknown): boolean {
  const code =
    (error as { code?: unknown; driverError?: { code?: unknown } } | null)?.code ??
    (error as { driverError?: { code?: unknown } } | null)?.driverError?.code;
  return (
    typeof code === 'string' &&
    /^(2[23]|SQLITE_CONSTRAINT_(CHECK|NOTNULL|DATATYPE)$|SQLITE_MISMATCH$)/.test(code)
  );
}
