export const METRIC_PREFIX = 'terra_constellata_';

export { UNMATCHED_ROUTE } from '@app/common';

/** Label value for anything outside a closed set. */
export const OTHER = 'other';

// Dense where APIs live (5 ms - 1 s) and around the 5 s p95 alert threshold (4, 5, 6, 7.5 s).
export const REQUEST_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 4, 5, 6, 7.5, 10, 30,
];

export const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
