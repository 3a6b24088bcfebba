/** pino's levels plus the product's two: metrics sits below info, business above it. */
export const CUSTOM_LEVELS = { metrics: 25, business: 35 } as const;

export type AppLevel = keyof typeof CUSTOM_LEVELS;

export const SERVICE_NAME = 'terra_constellata';

export const ALL_LOG_FILE = 'terra_constellata.log';
export const ERROR_LOG_FILE = 'errors.log';

/** Routes whose request lines go to debug: probes and scrapes every few seconds would drown the log. */
export const QUIET_ROUTES = new Set(['/health', '/health/live', '/health/ready', '/metrics']);
