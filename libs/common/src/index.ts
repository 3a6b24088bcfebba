export { ensureDirectory } from './ensure-directory';
export { redactDeep, REDACTED } from './redaction';
