import {
  BadRequestException,
  ValidationPipe,
  type ArgumentMetadata,
  type ValidationError,
} from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';

/** Deepest nesting accepted in any request body or query: the API's own shapes are at most three deep. */
export const MAX_INPUT_DEPTH = 32;

// Names that would be silently dropped or turned into {} on their way into a DTO (and, elsewhere, could reach an
// object's prototype): refused wherever they appear, so what is stored is what was sent.
const RESERVED_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype).concat('prototype'));

/**
 * Most problems one 400 lists; the rest are counted in a last entry. A body within the body limit can hold
 * tens of thousands of bad fields, and an answer listing each would be larger than the request.
 */
export const MAX_REPORTED_PROBLEMS = 20;

// What a validation 400 listed and left out, kept on the exception so a second pass can merge with it. The
// exception stays a plain BadRequestException: its class is the `error_type` label of errors_by_type_total.
const PROBLEMS = Symbol('validation problems');
type ValidationFailure = BadRequestException & { [PROBLEMS]: { listed: readonly string[]; more: number } };

function validationFailure(listed: readonly string[], more: number): ValidationFailure {
  const details =
    more > 0
      ? [...listed, `... and ${more} more problems (the first ${listed.length} are listed)`]
      : [...listed];
  return Object.assign(new BadRequestException(details), { [PROBLEMS]: { listed, more } });
}

function isValidationFailure(error: unknown): error is ValidationFailure {
  return error instanceof BadRequestException && PROBLEMS in error;
}

/** Collects "path: reason" lines up to MAX_REPORTED_PROBLEMS and counts the others without building them. */
class Problems {
  private readonly listed: string[] = [];
  private more = 0;

  get full(): boolean {
    return this.listed.length >= MAX_REPORTED_PROBLEMS;
  }

  add(problem: string): void {
    if (this.full) this.more += 1;
    else this.listed.push(problem);
  }

  /** Counts a problem without building its line: for the ones past the limit. */
  skip(): void {
    this.more += 1;
  }

  addAll(failure: ValidationFailure): void {
    const { listed, more } = failure[PROBLEMS];
    for (const problem of listed) this.add(problem);
    this.more += more;
  }

  get empty(): boolean {
    return this.listed.length === 0 && this.more === 0;
  }

  toException(): ValidationFailure {
    return validationFailure(this.listed, this.more);
  }
}

// "tags.3: each value in tags must be shorter than or equal to 50 characters": field path first, then why.
function collect(errors: ValidationError[], problems: Problems, parent = ''): void {
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    for (const reason of Object.values(error.constraints ?? {})) problems.add(`${path}: ${reason}`);
    collect(error.children ?? [], problems, path);
  }
}

// The properties each DTO class declares (every one carries a class-validator decorator), read once per class.
const declared = new WeakMap<object, ReadonlySet<string>>();

function declaredProperties(metatype: object): ReadonlySet<string> {
  let names = declared.get(metatype);
  if (!names) {
    const metadata = getMetadataStorage().getTargetValidationMetadatas(
      metatype as new () => unknown,
      '',
      true,
      false,
    );
    names = new Set(metadata.map((m) => m.propertyName));
    declared.set(metatype, names);
  }
  return names;
}

// A field name or path as a 400 shows it: a client's key can be as long as the body, the answer stays small.
const MAX_SHOWN_NAME = 64;
function shown(name: string, max = MAX_SHOWN_NAME): string {
  return name.length <= max ? name : `${name.slice(0, max)}...`;
}

const where = (path: string) => shown(path, 4 * MAX_SHOWN_NAME) || 'body';
const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

// ES2024's String.prototype.isWellFormed (Node 20 and later): false when a UTF-16 surrogate lacks its other
// half, which JSON's \uD800 escape can carry and UTF-8 (so PostgreSQL, the log files, every client) cannot:
// each would store or show U+FFFD instead.
const wellFormed = (text: string) => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL (\\u0000) characters';
  if (!wellFormed(text)) return 'must not contain a lone UTF-16 surrogate (\\uD800-\\uDFFF without its pair)';
  return undefined;
}

/** What is wrong with a scalar (string or number) no field may hold, if anything. */
function scalarProblem(item: unknown): string | undefined {
  if (typeof item === 'string') return textProblem(item);
  if (typeof item === 'number' && !Number.isFinite(item))
    return 'must be a finite number between -1.7976931348623157e308 and 1.7976931348623157e308';
  return undefined;
}

/**
 * The first thing in client data that no field may hold, as "path: reason": a NUL character (PostgreSQL text
 * cannot store one, and it would cut a log line in some readers) or a lone surrogate in a value or a key, a
 * number JSON cannot keep (`1e400` parses as Infinity, which JSON stores as null), or nesting deeper than
 * MAX_INPUT_DEPTH. Walks with its own stack, so no input can make it recurse.
 */
export function forbiddenInput(value: unknown): string | undefined {
  const top = scalarProblem(value);
  if (top) return `body: ${top}`;
  // Only objects and arrays are stacked, and a path is built for them alone: a body of 10,000 scalar fields
  // costs one pass over its keys, not 10,000 path strings.
  const stack: Array<[object, string, number]> = [];
  if (value !== null && typeof value === 'object') stack.push([value, '', 0]);
  while (stack.length > 0) {
    const [item, path, depth] = stack.pop()!;
    if (depth >= MAX_INPUT_DEPTH) {
      return `${where(path)}: must not be nested more than ${MAX_INPUT_DEPTH} levels deep`;
    }
    for (const key of Object.keys(item)) {
      const keyProblem = textProblem(key);
      if (keyProblem) return `${where(path)}: field names ${keyProblem}`;
      if (RESERVED_NAMES.has(key))
        return `${where(join(path, key))}: is a reserved name and cannot be a field`;
      const child = (item as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') stack.push([child, join(path, key), depth + 1]);
      else {
        const problem = scalarProblem(child);
        if (problem) return `${where(join(path, key))}: ${problem}`;
      }
    }
  }
  return undefined;
}

/**
 * The global pipe: client data with a NUL character, absurd nesting, a number JSON cannot keep or a lone
 * surrogate is refused before anything walks it, unknown fields are rejected, payloads become DTO instances,
 * and a 400 names the bad fields (the first MAX_REPORTED_PROBLEMS, and how many more).
 *
 * Unknown fields are found here, in one pass over the object's own keys, and only the declared ones reach
 * class-validator: its whitelist check builds a ValidationError per unknown key and the pipe listed every one,
 * so a 99 KB body of 10,000 unknown fields answered ~765 KB, ~6 such answers a second on this 2-core machine
 * (test/validation-flood.e2e.spec.ts; ~60 a second of 1.6 KB now).
 */
class AppValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      const problem = forbiddenInput(value);
      if (problem) throw new BadRequestException([problem]);
    }
    const metatype = metadata.metatype;
    if (!isDto(metatype)) return super.transform(value, metadata);
    // A DTO body must be an object: `null`, an array or a number would otherwise validate as an empty DTO.
    if (metadata.type === 'body' && !isPlainObject(value)) {
      throw new BadRequestException(['body: must be a JSON object']);
    }
    if (!isPlainObject(value)) return super.transform(value, metadata);
    const known = declaredProperties(metatype);
    const problems = new Problems();
    const kept: Record<string, unknown> = {};
    for (const key of Object.keys(value as object)) {
      if (known.has(key)) kept[key] = (value as Record<string, unknown>)[key];
      else if (problems.full) problems.skip();
      else problems.add(`${shown(key)}: property ${shown(key)} should not exist`);
    }
    if (problems.empty) return super.transform(value, metadata);
    try {
      await super.transform(kept, metadata);
    } catch (error) {
      if (!isValidationFailure(error)) throw error;
      problems.addAll(error);
    }
    throw problems.toException();
  }
}

function isPlainObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isDto(metatype: ArgumentMetadata['metatype']): metatype is new () => object {
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
    exceptionFactory: (errors) => {
      const problems = new Problems();
      collect(errors, problems);
      return problems.toException();
    },
  });
}
