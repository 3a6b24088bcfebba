import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';

// "tags.3: each value in tags must be shorter than or equal to 50 characters": field path first, then why.
function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((reason) => `${path}: ${reason}`);
    return own.concat(flatten(error.children ?? [], path));
  });
}

/** The global pipe: unknown fields are rejected, payloads become DTO instances, and a 400 names every bad field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => new BadRequestException(flatten(errors)),
  });
}
