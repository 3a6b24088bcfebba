// The full service with the roll-up upserts taken out of the write transaction, for the growth scenario only:
// the write throughput the roll-ups cost, measured against the real service in the same run. Its statistics
// are wrong by construction; nothing but the bench starts it.
import '../../apps/api/src/instrument';
import { loadConfig } from '@app/config';
import { FeedbackAggregatesRepository } from '@app/feedback';
import { bootstrap } from '../../apps/api/src/main';

void bootstrap(loadConfig(), (app) => {
  const aggregates = app.get(FeedbackAggregatesRepository);
  // SQLite: the upserts after the INSERT; PostgreSQL: the CTEs around it.
  aggregates.maintain = function* () {};
  aggregates.withRollups = (insert) => insert;
});
