// The full service without its per-request trace, for the knobs scenario: the trace hook only passes the request
// on (no trace id parsed or made, no traceresponse header), so log lines carry no trace_id or span_id and the
// metrics record no exemplar trace ids. What the linked signals cost every request is its difference from the
// production default. (The exemplar slots are still written, without an id: a Date.now() and three stores.)
import '../../apps/api/src/instrument';
import { loadConfig } from '@app/config';
import { RequestTracingHooks } from '@app/error-tracking';
import { bootstrap } from '../../apps/api/src/main';

void bootstrap(loadConfig(), (app) => {
  Object.defineProperty(app.get(RequestTracingHooks), 'onRequest', {
    value: (_request: unknown, _reply: unknown, done: () => void) => done(),
  });
});
