// The full service with SERIES label combinations already recorded, as after a long life with many routes
// and statuses: the scrape scenario measures what a scrape of that registry costs.
import '../../apps/api/src/instrument';
import { loadConfig } from '@app/config';
import { MetricsService } from '@app/metrics';
import { bootstrap } from '../../apps/api/src/main';

void bootstrap(loadConfig()).then((app) => {
  const metrics = app.get(MetricsService);
  const combinations = Number(process.env.SERIES ?? 0);
  const statuses = [200, 201, 400, 404, 500];
  for (let i = 0; i < combinations; i++) {
    const status = statuses[i % statuses.length];
    metrics.recordRequest(
      'GET',
      `/api/bench/route-${Math.floor(i / statuses.length)}`,
      status,
      0.01 * (i % 50),
      status >= 400 ? 'HttpException' : null,
    );
  }
});
