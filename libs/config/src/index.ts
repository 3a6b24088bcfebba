export {
  AppConfig,
  ENVIRONMENTS,
  LOG_LEVELS,
  type DatabaseConfig,
  type Environment,
  type LogLevel,
} from './config.types';
export { ConfigError, parseConfig, DEFAULT_SQLITE_PATH, type Env } from './config.parser';
export { loadConfig } from './config.loader';
