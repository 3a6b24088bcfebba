import {
  BadRequestException,
  ValidationPipe,
  type ArgumentMetadata,
  type ValidationError,
} from '@nestjs/common';

/** Deepest nesting accepted in any request body or query: the API's own shapes are at most three deep. */
export const MAX_INPUT_DEPTH = 32;

// Names that would be silently dropped or turned into {} on their way into a DTO (and, elsewhere, could reach an
// object's prototype): refused wherever they appear, so what is stored is what was sent.
const RESERVED_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype).concat('prototype'));

// "tags.3: each value in tags must be shorter than or equal to 50 characters": field path first, then why.
function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((reason) => `${path}: ${reason}`);
    return own.concat(flatten(error.children ?? [], path));
  });
}

/**
 * The first thing in client data that no field may hold, as "path: reason": a NUL character (PostgreSQL text
 * cannot store one, and it would cut a log line in some readers) in a value or a key, or nesting deeper than
 * MAX_INPUT_DEPTH. Walks with its own stack, so no input can make it recurse.
 */
export function forbiddenInput(value: unknown): string | undefined {
  const stack: Array<[unknown, string, number]> = [[value, '', 0]];
  while (stack.length > 0) {
    const [item, path, depth] = stack.pop()!;
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return `${path || 'body'}: must not contain NUL (\\u0000) characters`;
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    if (depth >= MAX_INPUT_DEPTH) {
      return `${path || 'body'}: must not be nested more than ${MAX_INPUT_DEPTH} levels deep`;
    }
    for (const [key, child] of Object.entries(item)) {
      if (key.includes('\u0000'))
        return `${path || 'body'}: field names must not contain NUL (\\u0000) characters`;
      const childPath = path ? `${path}.${key}` : key;
      if (RESERVED_NAMES.has(key)) return `${childPath}: is a reserved name and cannot be a field`;
      stack.push([child, childPath, depth + 1]);
    }
  }
  return undefined;
}

/**
 * The global pipe: client data with a NUL character or absurd nesting is refused before anything walks it,
 * unknown fields are rejected, payloads become DTO instances, and a 400 names every bad field.
 */
class AppValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      const problem = forbiddenInput(value);
      if (problem) throw new BadRequestException([problem]);
    }
    // A DTO body must be an object: `null`, an array or a number would otherwise validate as an empty DTO.
    if (metadata.type === 'body' && isDto(metadata.metatype) && !isPlainObject(value)) {
      throw new BadRequestException(['body: must be a JSON object']);
    }
    return super.transform(value, metadata);
  }
}

function isPlainObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isDto(metatype: ArgumentMetadata['metatype']): boolean {
  return (
    typeof metatype === 'function' && ![String, Boolean, Number, Array, Object].includes(metatype as never)
  );
}

export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => new BadRequestException(flatten(errors)),
  });
}
