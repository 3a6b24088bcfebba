import type { ConfigValues } from './config.schema';

// A class whose instances carry the given values: AppConfig's fields are exactly what the schema produces.
function valuesOf<T>(): new (values: T) => T {
  return class {
    constructor(values: T) {
      Object.assign(this, values);
    }
  } as new (values: T) => T;
}

/**
 * The validated configuration of the service (config.schema.ts declares it). It is also the injection token:
 * inject `AppConfig` to read it.
 */
export class AppConfig extends valuesOf<ConfigValues>() {
  constructor(values: ConfigValues) {
    super(values);
    Object.freeze(this);
  }

  get isProduction(): boolean {
    return this.environment === 'production';
  }
}
