// The full service with one no-op Nest middleware, for the knobs scenario: what Nest's middleware layer
// (@fastify/middie), which the service mounts only when some module uses middleware, costs every request.
import '../../apps/api/src/instrument';
import { loadConfig } from '@app/config';
import { bootstrap } from '../../apps/api/src/main';

void bootstrap(loadConfig(), (app) => app.use((_req: unknown, _res: unknown, next: () => void) => next()));
