// The full service with @fastify/helmet registered on the same options, for the knobs scenario: what building
// the security headers per request costs beside the service's precomputed ones (the header values are the same,
// so the response bytes do not change; only helmet's per-request work is added).
import '../../apps/api/src/instrument';
import fastifyHelmet from '@fastify/helmet';
import { loadConfig } from '@app/config';
import { HELMET_OPTIONS } from '../../apps/api/src/http/security-headers';
import { bootstrap } from '../../apps/api/src/main';

void bootstrap(loadConfig(), (app) => {
  void app.register(fastifyHelmet, HELMET_OPTIONS);
});
