// The full service without Nest's middleware layer (@fastify/middie), for the knobs scenario: what keeping
// Nest middleware available costs per request.
import '../../apps/api/src/instrument';
import { loadConfig } from '@app/config';
import { bootstrap } from '../../apps/api/src/main';

void bootstrap(loadConfig(), { skipMiddie: true });
