import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import { parseConfig, type Env } from './config.parser';
import type { AppConfig } from './config.types';

/**
 * Reads the process environment, with `.env` (when present) filling only what the environment leaves unset,
 * and validates it. The only place that reads process.env.
 */
export function loadConfig(options: { envFile?: string; env?: Env } = {}): AppConfig {
  const envFile = options.envFile ?? '.env';
  const fromFile = existsSync(envFile) ? parse(readFileSync(envFile)) : {};
  return parseConfig({ ...fromFile, ...(options.env ?? process.env) });
}
