export { ensureDirectory } from './ensure-directory';
