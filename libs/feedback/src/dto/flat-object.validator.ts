import { registerDecorator, type ValidationOptions } from 'class-validator';

/** A plain object whose values are strings, numbers, booleans or null, at most `maxBytes` when serialised. */
export function IsFlatObject(maxBytes: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isFlatObject',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: `${String(propertyName)} must be a flat object of strings, numbers, booleans or null, at most ${maxBytes} bytes as JSON`,
        ...options,
      },
      validator: {
        validate(value: unknown): boolean {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
          for (const item of Object.values(value)) {
            if (item !== null && !['string', 'number', 'boolean'].includes(typeof item)) return false;
          }
          return Buffer.byteLength(JSON.stringify(value)) <= maxBytes;
        },
      },
    });
}
