export { AppConfig } from './config.types';
export {
  DEFAULT_SQLITE_PATH,
  ENVIRONMENTS,
  LOG_LEVELS,
  RATE_LIMIT_STORES,
  type RateLimitStore,
  type ConfigValues,
  type DatabaseConfig,
  type Environment,
  type LogLevel,
} from './config.schema';
export { ConfigError, parseConfig, type Env } from './config.parser';
export { loadConfig } from './config.loader';
