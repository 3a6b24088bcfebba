import { AppConfig } from './config.types';
import { configValues, ENV_SCHEMA } from './config.schema';

export type Env = Readonly<Record<string, string | undefined>>;

/** A configuration value that the service cannot start with; the message is one line meant for an operator. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`Invalid configuration: ${variable} ${reason}`);
  }
}

/** Parses and validates every variable the service reads; throws ConfigError on the first bad one. */
export function parseConfig(env: Env, defaults: { releaseVersion?: string } = {}): AppConfig {
  const parsed = ENV_SCHEMA.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  return new AppConfig(configValues(parsed.data, defaults));
}
